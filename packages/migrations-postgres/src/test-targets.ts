import { PGlite } from "@electric-sql/pglite";
import type { Executor } from "@studio/migrations-core";
import { createTestDatabase, startPgMeta } from "@studio/test-postgres";
import pg from "pg";
import { createPGliteExecutor, createPgMetaExecutor, createPostgresExecutor } from "./index.ts";
import type { Timeouts } from "./sql-failure.ts";
import { TRACKING_TABLES_SQL, TRACKING_UPGRADE_SQL } from "./tracking-schema.ts";

// Test fixtures: one database per target, behind each real executor kind.

/** A database behind one executor kind: executors to drive it, and a side connection to look. */
export interface Target {
  executor(): Executor;
  /** The database's URL, for a side connection of a test's own; null for PGlite. */
  readonly url: string | null;
  query<R>(sql: string): Promise<R[]>;
  dispose(): Promise<void>;
}

export type TargetFactory = () => Promise<Target>;

/** A target on a real server, which a test can also reach on connections of its own. */
export interface PostgresTarget extends Target {
  readonly url: string;
  /** A connection of the test's own (another replica, an operator's psql), ended with the target. */
  connect(): Promise<pg.Client>;
}

export async function postgresTarget(
  kind: "pg" | "pg-meta",
  timeouts: Partial<Timeouts> = {},
): Promise<PostgresTarget> {
  const database = await createTestDatabase(`isolation_${kind}`);
  const server = kind === "pg-meta" ? await startPgMeta(database.url) : null;
  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  const executors: Executor[] = [];
  const clients: pg.Client[] = [];
  return {
    url: database.url,
    executor: () => {
      const executor = server
        ? createPgMetaExecutor({ url: server.url, timeouts })
        : createPostgresExecutor({ connection: database.url, timeouts });
      executors.push(executor);
      return executor;
    },
    query: async <R>(sql: string) => (await admin.query(sql)).rows as R[],
    connect: async () => {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      clients.push(client);
      return client;
    },
    dispose: async () => {
      await Promise.all(executors.map((e) => e.close()));
      await Promise.all(clients.map((c) => c.end().catch(() => {})));
      await admin.end();
      await server?.stop();
      await database.drop();
    },
  };
}

export async function pgliteTarget(timeouts: Partial<Timeouts> = {}): Promise<Target> {
  const pglite = await PGlite.create();
  return {
    url: null,
    executor: () => createPGliteExecutor({ pglite, timeouts }),
    query: async <R>(sql: string) => (await pglite.query<R>(sql)).rows,
    dispose: () => pglite.close(),
  };
}

export const targets: [string, TargetFactory][] = [
  ["postgres", () => postgresTarget("pg")],
  ["pglite", () => pgliteTarget()],
  ["pg-meta", () => postgresTarget("pg-meta")],
];

/**
 * The tracking tables as this version creates them, on a clean slate: the platform schema and
 * the test's own `tables` dropped first.
 */
export async function freshTrackingTables(client: pg.Client, ...tables: string[]): Promise<void> {
  await client.query(
    `drop schema if exists platform cascade;${tables.length > 0 ? ` drop table if exists ${tables.join(", ")};` : ""}\n${TRACKING_TABLES_SQL};\n${TRACKING_UPGRADE_SQL}`,
  );
}
