import type { PGlite, Transaction } from "@electric-sql/pglite";
import type { CompiledQuery } from "kysely";
import type { SqlConnection, SqlTransport } from "../sql-executor.ts";
import type { SqlQuery } from "../tracking-sql.ts";

/** PGlite's single connection: its `transaction` runs exclusively; `exec` runs several statements. */
export class PGliteTransport implements SqlTransport {
  constructor(
    private readonly pglite: PGlite,
    private readonly closeDatabase: boolean,
  ) {}

  transaction<T>(work: (connection: SqlConnection) => Promise<T>): Promise<T> {
    return this.pglite.transaction((tx) => work(connectionOf(tx)));
  }

  session<T>(work: (connection: SqlConnection) => Promise<T>): Promise<T> {
    return work(connectionOf(this.pglite));
  }

  readonly unitOffset = 0;

  /** A PGlite transaction (exclusive, rolled back if the batch fails) around one `exec`. */
  unit(sql: string): Promise<Record<string, unknown>[]> {
    return this.pglite.transaction(async (tx) => {
      const results = await tx.exec(sql);
      return (results.findLast((result) => result.rows.length > 0)?.rows ?? []) as Record<
        string,
        unknown
      >[];
    });
  }

  async close(): Promise<void> {
    if (this.closeDatabase && !this.pglite.closed) await this.pglite.close();
  }
}

function connectionOf(db: PGlite | Transaction): SqlConnection {
  return {
    async query<R>(query: SqlQuery<R> | CompiledQuery<R>): Promise<R[]> {
      return (await db.query<R>(query.sql, [...query.parameters])).rows;
    },
    async script(sql: string): Promise<void> {
      await db.exec(sql);
    },
  };
}
