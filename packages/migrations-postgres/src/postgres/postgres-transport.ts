import type { CompiledQuery } from "kysely";
import type pg from "pg";
import { DISCARD_SESSION_SQL, RESET_SESSION_SQL } from "../session-reset.ts";
import type { SqlConnection, SqlTransport } from "../sql-executor.ts";
import type { SqlQuery } from "../tracking-sql.ts";

// A unit starts in a pristine session even on a server connection that another client left
// otherwise (a pooler in transaction mode hands them around).
const BEGIN = `begin;\n${RESET_SESSION_SQL};\n`;

/**
 * `pg` connections from a pool: a transaction or a session holds one client throughout. A client
 * that ran migration SQL outside a unit, or a unit that failed (a failed unit's `SET`s roll back,
 * but not its `PREPARE`s or session locks), is reset with `DISCARD ALL` before its next use.
 */
export class PostgresTransport implements SqlTransport {
  private readonly dirty = new WeakSet<pg.PoolClient>();

  constructor(private readonly pool: pg.Pool) {
    // An idle client killed by the server would otherwise crash the process.
    pool.on("error", () => {});
  }

  async transaction<T>(work: (connection: SqlConnection) => Promise<T>): Promise<T> {
    return this.withClient(async (client) => {
      await client.query("begin");
      try {
        const result = await work(this.connectionOf(client));
        await client.query("commit");
        return result;
      } catch (error) {
        // A dead connection cannot roll back; the server already has. Keep the original error.
        await client.query("rollback").catch(() => {});
        throw error;
      }
    });
  }

  session<T>(work: (connection: SqlConnection) => Promise<T>): Promise<T> {
    return this.withClient((client) => work(this.connectionOf(client)));
  }

  readonly unitOffset = BEGIN.length;

  /**
   * One round trip: `begin`, the batch and `commit` as one simple-protocol query, which Postgres
   * runs statement by statement, stopping at the first error.
   */
  unit(sql: string): Promise<Record<string, unknown>[]> {
    return this.withClient(async (client) => {
      let results: pg.QueryResult[];
      try {
        const answer: pg.QueryResult | pg.QueryResult[] = await client.query(
          `${BEGIN}${sql};\ncommit`,
        );
        results = Array.isArray(answer) ? answer : [answer];
      } catch (error) {
        this.dirty.add(client);
        // A dead connection cannot roll back; the server already has. Keep the original error.
        await client.query("rollback").catch(() => {});
        throw error;
      }
      // Only a batch whose SQL swallowed what followed it (which Postgres would have refused as
      // unterminated) could end other than with the commit: never leave that open.
      if (results.at(-1)?.command !== "COMMIT") {
        await client.query("rollback").catch(() => {});
        throw new Error("The unit's batch did not reach its commit; it was rolled back.");
      }
      return results.findLast((result) => result.rows.length > 0)?.rows ?? [];
    });
  }

  close(): Promise<void> {
    return this.pool.end();
  }

  /** A client that failed at the connection level is discarded, not returned to the pool. */
  private async withClient<T>(use: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // A connection killed mid-query rejects the query and also emits 'error' on the client, which
    // would crash the process unless something listens while it is checked out.
    const ignore = () => {};
    client.on("error", ignore);
    let broken: Error | undefined;
    try {
      if (this.dirty.has(client)) {
        await client.query(DISCARD_SESSION_SQL);
        this.dirty.delete(client);
      }
      return await use(client);
    } catch (error) {
      if (
        !(
          typeof error === "object" &&
          error !== null &&
          "code" in error &&
          typeof error.code === "string"
        )
      ) {
        broken = error instanceof Error ? error : new Error(String(error));
      }
      throw error;
    } finally {
      client.off("error", ignore);
      client.release(broken);
    }
  }

  private connectionOf(client: pg.PoolClient): SqlConnection {
    return {
      async query<R>(query: SqlQuery<R> | CompiledQuery<R>): Promise<R[]> {
        const result = await client.query({ text: query.sql, values: [...query.parameters] });
        return result.rows as R[];
      },
      script: async (sql: string): Promise<void> => {
        // Scripts are migration SQL (or settings): whatever they do to the session stays.
        this.dirty.add(client);
        // No parameters: pg sends it with the simple protocol, which runs several statements.
        await client.query(sql);
      },
    };
  }
}
