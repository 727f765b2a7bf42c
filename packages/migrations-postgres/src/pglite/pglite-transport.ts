import type { PGlite, Transaction } from "@electric-sql/pglite";
import type { CompiledQuery } from "kysely";
import { DISCARD_SESSION_SQL, RESET_SESSION_SQL } from "../session-reset.ts";
import type { SqlConnection, SqlTransport } from "../sql-executor.ts";
import type { SqlQuery } from "../tracking-sql.ts";

const UNIT_HEAD = `${RESET_SESSION_SQL};\n`;

/**
 * PGlite's single connection: its `transaction` runs exclusively; `exec` runs several statements.
 * Every migration shares that one session, so once migration SQL ran outside a unit, or a unit
 * failed, the session is reset with `DISCARD ALL` before it is used again.
 */
export class PGliteTransport implements SqlTransport {
  private dirty = false;

  constructor(
    private readonly pglite: PGlite,
    private readonly closeDatabase: boolean,
  ) {}

  async transaction<T>(work: (connection: SqlConnection) => Promise<T>): Promise<T> {
    await this.clean();
    return this.pglite.transaction((tx) => work(this.connectionOf(tx)));
  }

  async session<T>(work: (connection: SqlConnection) => Promise<T>): Promise<T> {
    await this.clean();
    return work(this.connectionOf(this.pglite));
  }

  readonly unitOffset = UNIT_HEAD.length;

  /** A PGlite transaction (exclusive, rolled back if the batch fails) around one `exec`. */
  async unit(sql: string): Promise<Record<string, unknown>[]> {
    await this.clean();
    try {
      return await this.pglite.transaction(async (tx) => {
        const results = await tx.exec(`${UNIT_HEAD}${sql}`);
        return (results.findLast((result) => result.rows.length > 0)?.rows ?? []) as Record<
          string,
          unknown
        >[];
      });
    } catch (error) {
      this.dirty = true;
      throw error;
    }
  }

  private async clean(): Promise<void> {
    if (!this.dirty) return;
    await this.pglite.exec(DISCARD_SESSION_SQL);
    this.dirty = false;
  }

  private connectionOf(db: PGlite | Transaction): SqlConnection {
    return {
      async query<R>(query: SqlQuery<R> | CompiledQuery<R>): Promise<R[]> {
        return (await db.query<R>(query.sql, [...query.parameters])).rows;
      },
      script: async (sql: string): Promise<void> => {
        // Scripts are migration SQL (or settings): whatever they do to the session stays.
        this.dirty = true;
        await db.exec(sql);
      },
    };
  }

  async close(): Promise<void> {
    if (this.closeDatabase && !this.pglite.closed) await this.pglite.close();
  }
}
