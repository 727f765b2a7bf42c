import type { PGlite } from "@electric-sql/pglite";
import type { LockHandle, LockOptions } from "@studio/migrations-core";
import { DISCARD_SESSION_SQL } from "../session-reset.ts";
import { toSqlFailure } from "../sql-failure.ts";
import type { Answer, Row, Session, Transport } from "../transport.ts";

/**
 * PGlite's single connection: its `transaction` runs exclusively; `exec` runs several statements.
 * Every migration shares that one session, so once migration SQL ran outside a unit, or a unit
 * failed, the session is reset with `DISCARD ALL` before it is used again.
 */
export class PGliteTransport implements Transport {
  readonly kind = "pglite";
  readonly lockScope = "session";
  readonly lateDelivery = false;
  readonly unitOffset = 0;
  private dirty = false;

  constructor(
    private readonly pglite: PGlite,
    private readonly closeDatabase: boolean,
    private readonly runLock: (options: LockOptions) => Promise<LockHandle>,
  ) {}

  /** A PGlite transaction (exclusive, rolled back if the batch fails) around one `exec`. */
  async unit(batch: string): Promise<Answer> {
    try {
      await this.clean();
      return await this.pglite.transaction(async (tx) => rowsOf(await tx.exec(batch)));
    } catch (error) {
      this.dirty = true;
      return answerOf(error);
    }
  }

  async query(sql: string): Promise<Answer> {
    try {
      await this.clean();
      return rowsOf(await this.pglite.exec(sql));
    } catch (error) {
      return answerOf(error);
    }
  }

  async session<T>(work: (session: Session) => Promise<T>): Promise<T> {
    await this.clean();
    // Whatever the statements do to the session stays with it: reset before its next use.
    this.dirty = true;
    return work({
      persistent: true,
      run: async (sql) => {
        try {
          return rowsOf(await this.pglite.exec(sql));
        } catch (error) {
          return answerOf(error);
        }
      },
    });
  }

  acquireRunLock(options: LockOptions): Promise<LockHandle> {
    return this.runLock(options);
  }

  async close(): Promise<void> {
    if (this.closeDatabase && !this.pglite.closed) await this.pglite.close();
  }

  private async clean(): Promise<void> {
    if (!this.dirty) return;
    await this.pglite.exec(DISCARD_SESSION_SQL);
    this.dirty = false;
  }
}

function rowsOf(results: { rows: unknown[] }[]): Answer {
  return { kind: "rows", rows: (results.findLast((r) => r.rows.length > 0)?.rows ?? []) as Row[] };
}

function answerOf(error: unknown): Answer {
  const failure = toSqlFailure(error);
  if (failure.code !== null) return { kind: "sql", failure };
  return { kind: "unavailable", reason: failure.message };
}
