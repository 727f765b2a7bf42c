import { type PGlite, parse, protocol } from "@electric-sql/pglite";
import type { LockHandle, LockOptions } from "@studio/migrations-core";
import { DISCARD_SESSION_SQL, RESET_SESSION_KEEPING_LOCKS_SQL } from "../session-reset.ts";
import { toSqlFailure } from "../sql-failure.ts";
import type { Answer, Row, Session, Transport } from "../transport.ts";

/**
 * PGlite's single connection: its `transaction` runs exclusively; `exec` runs several statements.
 * Every migration shares that one session, so once migration SQL ran outside a unit, or a unit
 * failed, the session is reset with `DISCARD ALL` before it is used again.
 *
 * A `transaction:false` section runs on that same session, one statement per `exec`; nothing else
 * may come in between two of its statements. Another unit's `BEGIN`/`COMMIT` would commit halfway
 * a transaction the section opened itself, or its rollback undo it; a `DISCARD ALL` would drop
 * the runner's lock and timeouts; and anything — a `list`, a resolve, Studio's own tables — would
 * run as whatever the section made of the session (its `SET ROLE`, its `search_path`), which the
 * engine's own work must never depend on (SPEC §4 *Isolated*). So every use of the connection
 * goes through one queue, and a section holds it from its first statement to its last. (PGlite
 * runs each statement on the caller's thread, so the process could not do much in between
 * anyway.) The queue and the session's state belong to the `PGlite` instance, shared by every
 * transport over it — each executor made for it has one.
 */
export class PGliteTransport implements Transport {
  readonly kind = "pglite";
  readonly lockScope = "session";
  readonly lateDelivery = false;
  readonly unitOffset = BEGIN.length;
  readonly reportsCompleted = true;
  private readonly shared: SharedSession;

  constructor(
    private readonly pglite: PGlite,
    private readonly closeDatabase: boolean,
    private readonly runLock: (options: LockOptions) => Promise<LockHandle>,
  ) {
    this.shared = sharedSessionOf(pglite);
  }

  /**
   * `begin`, the batch and `commit` as one simple-protocol query: one exchange with PGlite's
   * backend (its `transaction()` around an `exec` takes six), stopping at the first error.
   */
  unit(batch: string): Promise<Answer> {
    return this.exclusive(async () => {
      try {
        await this.clean();
        // `execProtocol` bypasses PGlite's own locks: hold them, as `exec` would.
        return await this.pglite.runExclusive(() => this.simpleQuery(`${BEGIN}${batch};\ncommit`));
      } catch (error) {
        this.shared.dirty = true;
        return answerOf(error);
      }
    });
  }

  /** One unit's query, its failure rolled back, with the tags of what completed before it. */
  private async simpleQuery(sql: string): Promise<Answer> {
    const { messages } = await this.pglite.execProtocol(protocol.serialize.query(sql), {
      throwOnError: false,
    });
    // By name, not `instanceof`: a bundler may hold two copies of the protocol's classes.
    const tags = messages.flatMap((message) =>
      message.name === "commandComplete"
        ? [(message as InstanceType<typeof protocol.messages.CommandCompleteMessage>).text]
        : [],
    );
    const error = messages.find((message) => message.name === "error") as
      | InstanceType<typeof protocol.messages.DatabaseError>
      | undefined;
    if (error !== undefined || tags.at(-1) !== "COMMIT") {
      this.shared.dirty = true;
      await this.pglite.execProtocol(protocol.serialize.query("rollback"), { throwOnError: false });
      if (error === undefined) {
        return refused("The unit's batch did not reach its commit; it was rolled back.");
      }
      // The tags after our own `begin`'s.
      return { kind: "sql", failure: toSqlFailure(error), completed: tags.slice(1) };
    }
    return rowsOf(parse.parseResults(messages, this.pglite.parsers));
  }

  query(sql: string): Promise<Answer> {
    return this.exclusive(async () => {
      try {
        await this.clean();
        return rowsOf(await this.pglite.exec(sql));
      } catch (error) {
        return answerOf(error);
      }
    });
  }

  session<T>(work: (session: Session) => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      await this.clean();
      try {
        return await work({
          persistent: true,
          run: async (sql) => {
            try {
              return rowsOf(await this.pglite.exec(sql));
            } catch (error) {
              return answerOf(error);
            }
          },
          // On the held connection: the queue lets nothing in between the section's claim, its
          // statements and its record.
          unit: async (batch) => {
            try {
              return await this.pglite.transaction(async (tx) =>
                rowsOf(await tx.exec(`${RESET_SESSION_KEEPING_LOCKS_SQL};\n${batch}`)),
              );
            } catch (error) {
              return answerOf(error);
            }
          },
        });
      } finally {
        // A transaction the section left open (the runner rolls one back first; this is the
        // last resort) ends here, not in the next user's hands.
        if (this.pglite.isInTransaction()) await this.pglite.exec("rollback").catch(() => {});
        // Whatever the statements did to the session stays with it: reset before its next use.
        this.shared.dirty = true;
      }
    });
  }

  acquireRunLock(options: LockOptions): Promise<LockHandle> {
    return this.runLock(options);
  }

  async close(): Promise<void> {
    if (this.closeDatabase && !this.pglite.closed) await this.pglite.close();
  }

  /** Runs `work` alone on the connection: after everything queued before it. */
  private exclusive<R>(work: () => Promise<R>): Promise<R> {
    const run = this.shared.queue.then(work);
    this.shared.queue = run.then(
      () => {},
      () => {},
    );
    return run;
  }

  private async clean(): Promise<void> {
    if (!this.shared.dirty) return;
    await this.pglite.exec(DISCARD_SESSION_SQL);
    this.shared.dirty = false;
  }
}

const BEGIN = "begin;\n";

/** The state of a `PGlite` instance's one connection, which every transport over it shares. */
interface SharedSession {
  /** Settled when everything queued on the connection so far is done. */
  queue: Promise<void>;
  /** Migration SQL ran outside a unit, or a unit failed: `DISCARD ALL` before the next use. */
  dirty: boolean;
}

const sharedSessions = new WeakMap<PGlite, SharedSession>();

function sharedSessionOf(pglite: PGlite): SharedSession {
  let shared = sharedSessions.get(pglite);
  if (shared === undefined) {
    shared = { queue: Promise.resolve(), dirty: false };
    sharedSessions.set(pglite, shared);
  }
  return shared;
}

function rowsOf(results: { rows: unknown[] }[]): Answer {
  return { kind: "rows", rows: (results.findLast((r) => r.rows.length > 0)?.rows ?? []) as Row[] };
}

function refused(message: string): Answer {
  return {
    kind: "sql",
    failure: { message, code: null, detail: null, hint: null, position: null },
  };
}

function answerOf(error: unknown): Answer {
  const failure = toSqlFailure(error);
  if (failure.code !== null) return { kind: "sql", failure };
  return { kind: "unavailable", reason: failure.message };
}
