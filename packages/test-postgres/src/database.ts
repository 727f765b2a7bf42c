import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type pg from "pg";
import { withClient, withDatabase } from "./connection.ts";
import { getTestServer } from "./server.ts";
import type { TestDatabase, TestServer } from "./types.ts";

/** Names this run's databases in their COMMENT, so a teardown can drop the ones tests leaked. */
export const RUN_ID_ENV = "TEST_POSTGRES_RUN_ID";
const COMMENT_PREFIX = "@studio/test-postgres";

const RUN_ID = Symbol.for("@studio/test-postgres/run-id");
type RunIdHolder = typeof globalThis & { [RUN_ID]?: string };

/** The id shared by every process of this test run (set by globalSetup), or one for this process. */
export function testRunId(): string {
  const fromEnv = process.env[RUN_ID_ENV];
  if (fromEnv && /^[a-z0-9]+$/.test(fromEnv)) return fromEnv;
  const holder = globalThis as RunIdHolder;
  holder[RUN_ID] ??= randomBytes(6).toString("hex");
  return holder[RUN_ID];
}

function sanitizePrefix(prefix: string): string {
  const cleaned = prefix
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "_")
    .replace(/_+/g, "_")
    .replace(/^_|_$/g, "")
    .slice(0, 24)
    .replace(/_$/, "");
  return cleaned === "" ? "db" : cleaned;
}

function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

async function dropDatabase(client: pg.Client, server: TestServer, name: string): Promise<void> {
  // Sessions left open by the code under test (pools, postgres-meta) would block the DROP.
  await client.query(
    "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
    [name],
  );
  const force = server.versionNum >= 130000 ? " with (force)" : "";
  await client.query(`drop database if exists ${quote(name)}${force}`);
}

export interface CreateTestDatabaseOptions {
  /**
   * The server to create it on, e.g. one a suite started for itself with
   * `startEmbeddedPostgres()`; by default the run's, from `getTestServer()`.
   */
  readonly server?: TestServer;
}

/**
 * Creates an empty database with a unique name (`t_<prefix>_<pid>_<random>`) on the test server.
 * Unique across processes and machines sharing the server: the name has 32 random bits and a
 * collision is retried. Call `drop()` when done; on the run's server, the globalSetup's teardown
 * also drops any this run left behind.
 */
export async function createTestDatabase(
  prefix = "db",
  options: CreateTestDatabaseOptions = {},
): Promise<TestDatabase> {
  const server = options.server ?? (await getTestServer());
  const runId = testRunId();
  const name = await withClient(server.adminUrl, async (client) => {
    for (let attempt = 0; ; attempt++) {
      const candidate = `t_${sanitizePrefix(prefix)}_${process.pid}_${randomBytes(4).toString("hex")}`;
      try {
        // template0 rather than template1: CREATE DATABASE fails while anyone is connected to its
        // template, and on a shared server someone may be connected to template1.
        await client.query(`create database ${quote(candidate)} template template0`);
      } catch (error) {
        if ((error as { code?: unknown }).code === "42P04" && attempt < 5) continue;
        throw new Error(
          `[test-postgres] cannot create a database on ${server.describe()}: ${(error as Error).message}`,
          { cause: error },
        );
      }
      const comment = `${COMMENT_PREFIX} run=${runId} pid=${process.pid} host=${hostname()} at=${new Date().toISOString()}`;
      await client.query(
        `comment on database ${quote(candidate)} is '${comment.replaceAll("'", "''")}'`,
      );
      return candidate;
    }
  });

  let dropping: Promise<void> | undefined;
  return {
    name,
    url: withDatabase(server.adminUrl, name),
    drop: () => {
      dropping ??= withClient(server.adminUrl, (client) =>
        dropDatabase(client, server, name),
      ).catch((error: unknown) => {
        // Let a later call try again rather than replay this failure.
        dropping = undefined;
        throw error;
      });
      return dropping;
    },
  };
}

/**
 * Drops every database created by the test run `runId` that still exists; returns their names.
 * Used by the globalSetup teardown as a safety net for tests that forgot (or failed) to drop.
 */
export async function dropRunDatabases(server: TestServer, runId: string): Promise<string[]> {
  return withClient(server.adminUrl, async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      `select d.datname
         from pg_database d
         join pg_shdescription s on s.objoid = d.oid and s.classoid = 'pg_database'::regclass
        where s.description like $1`,
      [`${COMMENT_PREFIX} run=${runId} %`],
    );
    for (const { datname } of rows) await dropDatabase(client, server, datname);
    return rows.map((row) => row.datname);
  });
}
