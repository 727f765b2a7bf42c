import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseTrustedProxies, type TrustedProxies } from "./client-address.ts";
import { type MigrationSecret, resolveMigrationSecret } from "./migration-secret.ts";

/** Where Studio's database is: one of three, chosen from the environment (SPEC §6). */
export type DatabaseTarget =
  | { kind: "postgres"; url: string }
  | { kind: "pg-meta"; url: string }
  | { kind: "pglite"; dataDir: string };

export interface StudioConfig {
  database: DatabaseTarget;
  migrationsDir: string;
  secret: string;
  /** Where the secret came from; a generated one is printed once, at start. */
  secretOrigin: MigrationSecret["source"];
  /** The file a generated secret is kept in, when it was generated. */
  secretFile: string | null;
  /** Proxies whose `X-Forwarded-For` is believed (`STUDIO_TRUSTED_PROXIES`); none by default. */
  trustedProxies: TrustedProxies;
  autoApply: boolean;
  production: boolean;
}

/** The repository root: the nearest directory up from here that holds `migrations/`. */
function findRepoRoot(from: string): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "migrations")) && existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) return resolve(from);
  }
}

/**
 * Reads the environment once per process; throws, with a one-line reason, on a configuration
 * Studio must not run with (SPEC §6: no secret, or a short one, in production against a real
 * database).
 */
function readConfig(env: NodeJS.ProcessEnv = process.env): StudioConfig {
  const root = findRepoRoot(process.cwd());
  const dataDir = resolve(root, env.STUDIO_DATA_DIR || ".data/studio");
  const database: DatabaseTarget = env.DATABASE_URL
    ? { kind: "postgres", url: env.DATABASE_URL }
    : env.PG_META_URL
      ? { kind: "pg-meta", url: env.PG_META_URL }
      : { kind: "pglite", dataDir };
  const production = env.NODE_ENV === "production";
  const secret = resolveMigrationSecret({
    value: env.MIGRATION_SECRET,
    production,
    realDatabase: env.DATABASE_URL ? "DATABASE_URL" : env.PG_META_URL ? "PG_META_URL" : null,
    dataDir,
  });
  return {
    database,
    migrationsDir: resolve(root, env.MIGRATIONS_DIR ?? "migrations"),
    secret: secret.value,
    secretOrigin: secret.source,
    secretFile: secret.source === "environment" ? null : secret.file,
    trustedProxies: parseTrustedProxies(env.STUDIO_TRUSTED_PROXIES),
    autoApply: /^(1|true|yes|on)$/i.test(env.MIGRATIONS_AUTO_APPLY ?? ""),
    production,
  };
}

// Next can load server modules in several bundles of one process; they share `globalThis`.
const store = globalThis as typeof globalThis & { __studioConfig?: StudioConfig };

export function studioConfig(): StudioConfig {
  store.__studioConfig ??= readConfig();
  return store.__studioConfig;
}

export function describeDatabase(target: DatabaseTarget): string {
  switch (target.kind) {
    case "postgres":
      return `PostgreSQL at ${redactUrl(target.url)}`;
    case "pg-meta":
      return `postgres-meta at ${redactUrl(target.url)}`;
    case "pglite":
      return `embedded PGlite in ${target.dataDir}`;
  }
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparsable URL)";
  }
}
