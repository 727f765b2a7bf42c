import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/** Where Studio's database is: one of three, chosen from the environment (SPEC §6). */
export type DatabaseTarget =
  | { kind: "postgres"; url: string }
  | { kind: "pg-meta"; url: string }
  | { kind: "pglite"; dataDir: string };

export interface StudioConfig {
  database: DatabaseTarget;
  migrationsDir: string;
  secret: string;
  /** The secret was generated at start (development, or a trial on the embedded database). */
  secretGenerated: boolean;
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
 * Reads the environment once per process. A missing `MIGRATION_SECRET` is generated — and printed
 * once at start — in development and on the embedded database (a local trial); in production
 * against a real database it is refused, since a random secret nobody saw would lock out every
 * deploy script.
 */
function readConfig(env: NodeJS.ProcessEnv = process.env): StudioConfig {
  const root = findRepoRoot(process.cwd());
  const database: DatabaseTarget = env.DATABASE_URL
    ? { kind: "postgres", url: env.DATABASE_URL }
    : env.PG_META_URL
      ? { kind: "pg-meta", url: env.PG_META_URL }
      : { kind: "pglite", dataDir: resolve(root, env.STUDIO_DATA_DIR ?? ".data/studio") };
  const production = env.NODE_ENV === "production";
  let secret = env.MIGRATION_SECRET ?? "";
  let secretGenerated = false;
  if (secret === "") {
    if (production && database.kind !== "pglite") {
      throw new Error(
        "MIGRATION_SECRET is required in production: set it in Studio's environment.",
      );
    }
    secret = randomBytes(24).toString("base64url");
    secretGenerated = true;
  }
  return {
    database,
    migrationsDir: resolve(root, env.MIGRATIONS_DIR ?? "migrations"),
    secret,
    secretGenerated,
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
