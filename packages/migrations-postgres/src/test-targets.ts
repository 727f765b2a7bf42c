import { PGlite } from "@electric-sql/pglite";
import type { Executor } from "@studio/migrations-core";
import { createTestDatabase, startPgMeta } from "@studio/test-postgres";
import pg from "pg";
import { createPGliteExecutor, createPgMetaExecutor, createPostgresExecutor } from "./index.ts";
import type { Timeouts } from "./sql-failure.ts";

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

export async function postgresTarget(
  kind: "pg" | "pg-meta",
  timeouts: Partial<Timeouts> = {},
): Promise<Target> {
  const database = await createTestDatabase(`isolation_${kind}`);
  const server = kind === "pg-meta" ? await startPgMeta(database.url) : null;
  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  const executors: Executor[] = [];
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
    dispose: async () => {
      await Promise.all(executors.map((e) => e.close()));
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
