import type { LockHandle, LockOptions, SqlFailure } from "@studio/migrations-core";

/**
 * How the one executor algorithm (`unit-executor.ts`) reaches a database: pg, PGlite and
 * postgres-meta are transports, nothing more. Everything is SQL text — values inlined as `E'…'`
 * literals — because a unit of work is one multi-statement batch, which the extended protocol
 * (the one taking parameters) refuses.
 */
export interface Transport {
  /** A short label for logs and messages: `postgres`, `pglite`, `pg-meta`. */
  readonly kind: string;
  /**
   * `session`: `acquireRunLock` excludes other appliers until released. `per-unit`: no lock can
   * span requests; exclusion comes from each unit's own lock and checks.
   */
  readonly lockScope: "session" | "per-unit";
  /**
   * Whether a request can reach the database after its answer was given up on (an HTTP request
   * held in the network): the executor then gives each apply an attempt id that its recorded
   * failure revokes.
   */
  readonly lateDelivery: boolean;
  /** Characters the transport puts before a unit's batch in what the database receives. */
  readonly unitOffset: number;

  /**
   * Runs `batch` as one transaction in one round trip, starting in a pristine session: committed
   * if every statement succeeds, rolled back otherwise. Answers the last result set with rows.
   */
  unit(batch: string): Promise<Answer>;

  /** Runs one read (or one statement) outside a transaction. */
  query(sql: string): Promise<Answer>;

  /**
   * Runs `work` with statements sent one at a time. On a `persistent` session they share one
   * connection (and its settings); otherwise each is a connection of its own. The session is
   * reset before the connection serves anything else.
   */
  session<T>(work: (session: Session) => Promise<T>): Promise<T>;

  acquireRunLock(options: LockOptions): Promise<LockHandle>;

  close(): Promise<void>;
}

export interface Session {
  /** Whether what one statement does to its session is there for the next (one connection). */
  readonly persistent: boolean;
  run(sql: string): Promise<Answer>;
}

/**
 * What came back:
 * - `rows`: it ran; the last result set that had rows (`[]` when none had).
 * - `sql`: the database refused it; a unit was rolled back.
 * - `unknown`: it may have run, or may still be running (a connection lost mid-request, an
 *   HTTP 408 or unexpected 5xx).
 * - `unavailable`: it did not run (no connection, too many clients).
 */
export type Answer =
  | { kind: "rows"; rows: Row[] }
  | { kind: "sql"; failure: SqlFailure }
  | { kind: "unknown"; reason: string }
  | { kind: "unavailable"; reason: string };

export type Row = Record<string, unknown>;
