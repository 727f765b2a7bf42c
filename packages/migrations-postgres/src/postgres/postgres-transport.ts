import type { LockHandle, LockOptions } from "@studio/migrations-core";
import pg from "pg";
import { DISCARD_SESSION_SQL } from "../session-reset.ts";
import { toSqlFailure } from "../sql-failure.ts";
import type { Answer, Row, Session, Transport } from "../transport.ts";

const BEGIN = "begin;\n";

/**
 * `pg` connections from a pool, every statement sent with the simple protocol (SQL text, no
 * parameters: a unit is several statements). A unit holds one client for one round trip: `begin`,
 * the batch and `commit` as one query. A client that ran migration SQL outside a unit, or a unit
 * that failed (its `SET`s roll back, but not its `PREPARE`s or session locks), is reset with
 * `DISCARD ALL` before its next use. The run lock is a connection of its own.
 */
export class PostgresTransport implements Transport {
  readonly kind = "postgres";
  readonly lockScope = "session";
  readonly lateDelivery = false;
  readonly unitOffset = BEGIN.length;
  readonly reportsCompleted = true;
  private readonly dirty = new WeakSet<pg.PoolClient>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly runLock: (options: LockOptions) => Promise<LockHandle>,
  ) {
    // An idle client killed by the server would otherwise crash the process.
    pool.on("error", () => {});
  }

  /**
   * One round trip: `begin`, the batch and `commit` as one simple-protocol query, which Postgres
   * runs statement by statement, stopping at the first error.
   */
  unit(batch: string): Promise<Answer> {
    return this.withClient(async (client) => {
      const query = new TaggedQuery(`${BEGIN}${batch};\ncommit`);
      let results: pg.QueryResult[];
      try {
        results = await query.run(client);
      } catch (error) {
        this.dirty.add(client);
        // A dead connection cannot roll back; the server already has. Keep the original error.
        await client.query("rollback").catch(() => {});
        const answer = answerOf(error);
        // The tags after our own `begin`'s.
        return answer.kind === "sql" ? { ...answer, completed: query.tags.slice(1) } : answer;
      }
      // Only a batch whose SQL swallowed what followed it (which Postgres would have refused as
      // unterminated) could end other than with the commit: never leave that open.
      if (results.at(-1)?.command !== "COMMIT") {
        await client.query("rollback").catch(() => {});
        return refused("The unit's batch did not reach its commit; it was rolled back.");
      }
      return rowsOf(results);
    });
  }

  query(sql: string): Promise<Answer> {
    return this.withClient(async (client) => {
      const answer: pg.QueryResult | pg.QueryResult[] = await client.query(sql);
      return rowsOf(Array.isArray(answer) ? answer : [answer]);
    });
  }

  async session<T>(work: (session: Session) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const ignore = () => {};
    client.on("error", ignore);
    let broken: Error | undefined;
    try {
      // A section starts in a pristine session too, whatever the connection served before.
      if (this.dirty.has(client)) await client.query(DISCARD_SESSION_SQL);
    } catch (error) {
      client.off("error", ignore);
      client.release(error instanceof Error ? error : new Error(String(error)));
      throw error;
    }
    // Whatever the statements do to the session stays with it: reset before its next use.
    this.dirty.add(client);
    try {
      return await work({
        persistent: true,
        // Another connection: this one keeps the runner lock meanwhile.
        unit: (batch) => this.unit(batch),
        run: async (sql) => {
          try {
            const answer: pg.QueryResult | pg.QueryResult[] = await client.query(sql);
            return rowsOf(Array.isArray(answer) ? answer : [answer]);
          } catch (error) {
            const answer = answerOf(error);
            if (answer.kind !== "sql")
              broken = error instanceof Error ? error : new Error(String(error));
            return answer;
          }
        },
      });
    } finally {
      client.off("error", ignore);
      client.release(broken);
    }
  }

  acquireRunLock(options: LockOptions): Promise<LockHandle> {
    return this.runLock(options);
  }

  close(): Promise<void> {
    return this.pool.end();
  }

  /**
   * Runs `use` on a pooled client, reset first if dirty; errors become answers. A client that
   * failed at the connection level is discarded, not returned to the pool.
   */
  private async withClient(use: (client: pg.PoolClient) => Promise<Answer>): Promise<Answer> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      return { kind: "unavailable", reason: toSqlFailure(error).message };
    }
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
      const answer = answerOf(error);
      if (answer.kind !== "sql") broken = error instanceof Error ? error : new Error(String(error));
      return answer;
    } finally {
      client.off("error", ignore);
      client.release(broken);
    }
  }
}

/**
 * A simple-protocol query that keeps the command tag of every statement that completes — which
 * `pg` otherwise drops when a later statement of the same query fails.
 */
class TaggedQuery extends pg.Query {
  readonly tags: string[] = [];

  /** `pg`'s own handler (not in its typings), called once per completed statement. */
  handleCommandComplete(message: { text: string }, connection: unknown): void {
    this.tags.push(message.text);
    (pg.Query.prototype as unknown as TaggedQuery).handleCommandComplete.call(
      this,
      message,
      connection,
    );
  }

  run(client: pg.PoolClient): Promise<pg.QueryResult[]> {
    return new Promise((resolve, reject) => {
      this.on("error", reject);
      this.on("end", (result) => {
        const results = result as unknown as pg.QueryResult | pg.QueryResult[];
        resolve(Array.isArray(results) ? results : [results]);
      });
      client.query(this);
    });
  }
}

/** The rows of the last statement that returned any. */
function rowsOf(results: pg.QueryResult[]): Answer {
  return { kind: "rows", rows: (results.findLast((r) => r.rows.length > 0)?.rows ?? []) as Row[] };
}

/** A Postgres error is the database's answer; anything else lost the connection mid-request. */
function answerOf(error: unknown): Answer {
  const failure = toSqlFailure(error);
  if (failure.code !== null) return { kind: "sql", failure };
  return { kind: "unknown", reason: `the connection was lost: ${failure.message}` };
}

function refused(message: string): Answer {
  return {
    kind: "sql",
    failure: { message, code: null, detail: null, hint: null, position: null },
  };
}
