/**
 * Vitest globalSetup: `test: { globalSetup: [<path to this file>] }`.
 *
 * globalSetup runs in Vitest's main process before any test worker exists; workers are forked
 * (or spawned as threads) afterwards and inherit its environment. So the server is chosen (or
 * started) once here and handed to every worker through TEST_POSTGRES_ADMIN_URL, which
 * `getTestServer()` honours first: one server per `vitest run`, stopped by the teardown.
 */
import { randomBytes } from "node:crypto";
import { dropRunDatabases, RUN_ID_ENV } from "./database.ts";
import { ADMIN_URL_ENV, getTestServer, KIND_ENV } from "./server.ts";
import type { TestServer } from "./types.ts";

const ENV_KEYS = [ADMIN_URL_ENV, KIND_ENV, RUN_ID_ENV] as const;

// Several projects may list this file; Vitest then loads and runs it once per project, all in
// one process, so the bookkeeping lives on globalThis rather than in this module.
const STATE = Symbol.for("@studio/test-postgres/global-setup");
interface SetupState {
  users: number;
  server: Promise<TestServer> | undefined;
  savedEnv: (readonly [string, string | undefined])[];
}
type StateHolder = typeof globalThis & { [STATE]?: SetupState };

function state(): SetupState {
  const holder = globalThis as StateHolder;
  holder[STATE] ??= { users: 0, server: undefined, savedEnv: [] };
  return holder[STATE];
}

async function acquire(): Promise<TestServer> {
  const s = state();
  s.users++;
  if (s.server === undefined) {
    s.savedEnv = ENV_KEYS.map((key) => [key, process.env[key]] as const);
    process.env[RUN_ID_ENV] ??= randomBytes(6).toString("hex");
    s.server = getTestServer().then((server) => {
      process.env[ADMIN_URL_ENV] = server.adminUrl;
      process.env[KIND_ENV] = server.kind;
      console.log(`[test-postgres] using ${server.describe()}`);
      return server;
    });
  }
  try {
    return await s.server;
  } catch (error) {
    s.users--;
    if (s.users === 0) restoreEnv(s);
    throw error;
  }
}

function restoreEnv(s: SetupState): void {
  for (const [key, value] of s.savedEnv) {
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
  }
  s.server = undefined;
  s.savedEnv = [];
}

async function release(server: TestServer): Promise<void> {
  const s = state();
  s.users--;
  if (s.users > 0) return;
  const runId = process.env[RUN_ID_ENV];
  try {
    // A throwaway server is deleted whole; on a shared one, leave no database of this run behind.
    if (!server.owned && runId) {
      const leaked = await dropRunDatabases(server, runId);
      if (leaked.length > 0) {
        console.log(
          `[test-postgres] dropped ${leaked.length} database(s) left behind by tests: ${leaked.join(", ")}`,
        );
      }
    }
  } finally {
    await server.stop();
    restoreEnv(s);
  }
}

export default async function setup(): Promise<() => Promise<void>> {
  const server = await acquire();
  return () => release(server);
}
