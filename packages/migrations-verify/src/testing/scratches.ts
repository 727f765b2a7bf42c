import { PGlite } from "@electric-sql/pglite";
import { type Migration, memorySource } from "@studio/migrations-core";
import { createTestDatabase } from "@studio/test-postgres";
import pg from "pg";
import { openScratchDatabase, type ScratchDatabase, type ScratchOptions } from "../index.ts";

/** An empty database for a test, on one of the two kinds of scratch verify runs on. */
export interface TestScratch {
  /** What `verifyMigrations` is given to run on it. */
  readonly options: ScratchOptions;
  /** The same database, for reading fingerprints. */
  readonly database: ScratchDatabase;
  /**
   * Runs SQL (one statement or several) on it from a connection of the test's own; answers the
   * rows of the last statement that returned any.
   */
  query<R extends Record<string, unknown>>(sql: string): Promise<R[]>;
  dispose(): Promise<void>;
}

export type ScratchKind = "PGlite" | "PostgreSQL";

/** A fresh PGlite database, or a new database on the test PostgreSQL server. */
export async function openTestScratch(kind: ScratchKind): Promise<TestScratch> {
  if (kind === "PGlite") {
    const pglite = await PGlite.create();
    const options = { pglite };
    return {
      options,
      database: await openScratchDatabase(options),
      query: async <R>(sql: string) =>
        ((await pglite.exec(sql)).findLast((result) => result.rows.length > 0)?.rows ?? []) as R[],
      dispose: () => pglite.close(),
    };
  }
  const created = await createTestDatabase("verify");
  const client = new pg.Client({ connectionString: created.url });
  await client.connect();
  const options = { url: created.url };
  return {
    options,
    database: await openScratchDatabase(options),
    query: async <R extends Record<string, unknown>>(sql: string) => {
      const answer: pg.QueryResult<R> | pg.QueryResult<R>[] = await client.query<R>(sql);
      const results = Array.isArray(answer) ? answer : [answer];
      return results.findLast((result) => result.rows.length > 0)?.rows ?? [];
    },
    dispose: async () => {
      await client.end();
      await created.drop();
    },
  };
}

export const SCRATCH_KINDS: readonly ScratchKind[] = ["PGlite", "PostgreSQL"];

/** Migrations from dbmate-format texts, as a directory of those files would load. */
export async function migrationsOf(files: Record<string, string>): Promise<Migration[]> {
  const { migrations, problems } = await memorySource(
    Object.entries(files).map(([name, sql]) => ({ name, sql })),
  ).load();
  if (problems.length > 0) {
    throw new Error(`test migrations do not load: ${problems.map((p) => p.message).join("; ")}`);
  }
  return [...migrations];
}

/** A migration file's text: an up section and, when given, a down section. */
export function migration(
  up: string,
  down?: string,
  options: { transactional?: boolean } = {},
): string {
  const flag = options.transactional === false ? " transaction:false" : "";
  return `-- migrate:up${flag}\n${up}\n${down === undefined ? "" : `\n-- migrate:down${flag}\n${down}\n`}`;
}
