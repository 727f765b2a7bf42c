import type { Executor, LockHandle, LockOptions, SqlFailure } from "@studio/migrations-core";

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
   * Whether a unit that fails says which of its statements completed before the failing one
   * (`Answer.completed`: their command tags, as the protocol's CommandComplete messages carry
   * them). A transport that does lets the executor tell a failure of its own bookkeeping from the
   * migration's without wrapping the bookkeeping in a `DO … exception` block (`unit-batch.ts`).
   */
  readonly reportsCompleted: boolean;

  /**
   * Runs `batch` as one transaction in one round trip, starting in a pristine session: committed
   * if every statement succeeds, rolled back otherwise. Answers the last result set with rows.
   */
  unit(batch: string): Promise<Answer>;

  /**
   * Runs one read (or one statement) outside a transaction. `signal` gives up on it (the answer is
   * then `unknown`); only a transport whose requests can be given up on (postgres-meta) heeds it.
   */
  query(sql: string, signal?: AbortSignal): Promise<Answer>;

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
  /** One statement; `signal` as for `Transport.query`. */
  run(sql: string, signal?: AbortSignal): Promise<Answer>;
  /**
   * A unit (as `Transport.unit`: one transaction, none of what the statements did to the session
   * in its way) while the session is held — a section's claim and record, so that its runner's
   * sign of life spans them: on pg, another connection while this one keeps the runner lock; on
   * PGlite, the same connection, reset but for its advisory locks, with nothing let in between;
   * over postgres-meta, a request.
   */
  unit(batch: string): Promise<Answer>;
}

/**
 * What came back:
 * - `rows`: it ran; the last result set that had rows (`[]` when none had).
 * - `sql`: the database refused it; a unit was rolled back. `completed`, from a transport that
 *   `reportsCompleted`: the command tags (`SET`, `INSERT 0 1`, …) of the unit's statements that
 *   completed before the one that failed, its own `begin` excluded.
 * - `unknown`: it may have run, or may still be running (a connection lost mid-request, an
 *   HTTP 408 or unexpected 5xx).
 * - `unavailable`: it did not run (no connection, too many clients).
 */
export type Answer =
  | { kind: "rows"; rows: Row[] }
  | { kind: "sql"; failure: SqlFailure; completed?: readonly string[] }
  | { kind: "unknown"; reason: string }
  | { kind: "unavailable"; reason: string };

export type Row = Record<string, unknown>;

/**
 * Kept on the executor under a registered symbol rather than in a module-level map: a bundler may
 * load this module more than once in one process (Next gives each API route its own bundle), and
 * every copy must find the transport of an executor another copy made.
 */
const TRANSPORT = Symbol.for("@studio/migrations-postgres/transport");

/**
 * The transport an executor made by this package runs on, for a host that keeps a few tables of
 * its own in the same database (Studio's sessions, `studio-auth-store.ts`): it reaches them the
 * way the executor does — the same pool, the same PGlite instance (an embedded database admits
 * one process), the same postgres-meta — instead of opening a second path. Undefined for an
 * executor made elsewhere.
 */
export function transportOf(executor: Executor): Transport | undefined {
  return (executor as Executor & { [TRANSPORT]?: Transport })[TRANSPORT];
}

/** Used by this package's factories: `executor` runs on `transport`. */
export function withTransport<E extends Executor>(executor: E, transport: Transport): E {
  Object.defineProperty(executor, TRANSPORT, { value: transport, enumerable: false });
  return executor;
}
