import type { SqlFailure } from "./errors.ts";
import type { ForeignHistorySource, ForeignVersions } from "./foreign-history.ts";
import type { MigrationEvent, MigrationRecord, RecordedStatus, Resolution } from "./records.ts";
import type { RehearseOutcome, RehearseRequest } from "./rehearsal.ts";
import type { RelationSize } from "./relations.ts";

/**
 * Where migrations run and are recorded: a database behind some connection. Executors are kept
 * dumb — the core decides what to run and in which order; an executor runs SQL, locks and
 * records, and guarantees the invariants below. Every executor passes the conformance suite in
 * `@studio/migrations-core/testing`.
 *
 * The unit of work is one migration applied (or rolled back) together with its bookkeeping, so
 * that an executor which cannot keep a transaction open across calls (an HTTP endpoint taking one
 * SQL batch per request) can do each unit in a single round trip.
 *
 * Invariants:
 * - `applyMigration` is conditional and atomic. Under a per-database exclusion held for the unit
 *   (e.g. a transaction-scoped advisory lock), it checks that the migration is not recorded as
 *   applied; if it is, it runs nothing and answers `already_applied`. Otherwise, for a
 *   transactional migration, the up SQL, the `applied` row and a `succeeded` apply event commit
 *   together or not at all. Two executors racing on one migration therefore apply it once.
 * - A failed transactional migration leaves the schema as it was, a `failed` row carrying the
 *   database's error and the attempt's time, and a `failed` event — written after the migration's
 *   own transaction rolled back, so they survive it.
 * - A non-transactional migration is first recorded as `failed` with no execution time (started,
 *   not finished), then its statements run one at a time, then the row becomes `applied` (or
 *   `failed` with the time and error). A crash in between leaves the row visibly interrupted.
 * - Rows are only ever written through these methods; events are only ever inserted.
 * - When the connection is lost and the outcome cannot be established, the executor re-reads the
 *   state and reports what actually happened; if even that is impossible it throws
 *   `ExecutorUnavailableError` and records nothing it does not know to be true.
 */
export interface Executor {
  /** A short label for logs and messages, e.g. `postgres`, `pglite`, `pg-meta`, `memory`. */
  readonly kind: string;
  /**
   * `session`: `acquireLock` excludes other appliers until released (the run plans and applies
   * under it). `per-unit`: the executor cannot hold a lock across calls, so `acquireLock` only
   * marks the run, and exclusion comes from each unit's own lock and applied-check.
   */
  readonly lockScope: "session" | "per-unit";

  /** Every row of `schema_migrations`; `[]` when the tracking tables do not exist yet. */
  readState(): Promise<MigrationRecord[]>;

  /**
   * Serialises appliers across processes and hosts. Waits at most `timeoutMs`, then throws
   * `LockBusyError` (naming the holder when the database can tell).
   */
  acquireLock(options: LockOptions): Promise<LockHandle>;

  applyMigration(request: ApplyRequest): Promise<ApplyOutcome>;

  /**
   * Runs the down SQL and marks the row `rolled_back`, atomically, if it is recorded as applied;
   * otherwise runs nothing and answers `not_applied`. A failure leaves the row and schema as they
   * were and records a `failed` rollback event.
   */
  rollbackMigration(request: RollbackRequest): Promise<RollbackOutcome>;

  /**
   * Writes bookkeeping without running migration SQL (baseline, adopt, resolve, mark-only rollback):
   * all changes and one `succeeded` event per change commit together, in order. When any row's
   * status is not one the change expects, nothing is written and `StateConflictError` is thrown.
   * A `record_interrupted` change expects nothing: it writes its `failed` event or nothing, and
   * the answer says which it wrote (for the log: only the operation that writes one logs it).
   */
  recordChanges(changes: readonly Bookkeeping[], actor: string): Promise<RecordedChanges>;

  /** Audit events, newest first. */
  readEvents(query: EventQuery): Promise<MigrationEvent[]>;

  /**
   * `adopt`: the versions another migration tool recorded in its own table (SPEC §4 Adopt), as
   * text, with the table as resolved (`schema.table`). The table name is an identifier, always
   * quoted (never spliced unquoted); an unqualified one is looked up in the connection's current
   * schema, as dbmate does. Throws `ForeignHistoryNotFoundError` when the table, or its
   * `version` column, is not there. Reads only: takes no lock and writes nothing.
   */
  readForeignVersions(source: ForeignHistorySource): Promise<ForeignVersions>;

  /**
   * The up section as it was sent when the migration last ran (`schema_migrations.up_sql`), for
   * showing drift as a diff against the file; `null` when no row exists or nothing was recorded
   * (a baseline, a resolve, a failure inside a transaction). Reads only. Optional: without it the
   * recorded SQL is reported as unknown.
   */
  readRecordedSql?(migrationName: string): Promise<string | null>;

  /**
   * What the target says about relations pending migrations would touch — whether each exists,
   * its estimated rows and bytes, other sessions' locks on it — one per name, in order (SPEC §9
   * "Lint"; names and answers as `RelationSize` describes them). Reads only, takes no lock that
   * could wait. Optional: without it the lint runs without sizes.
   */
  readRelationSizes?(names: readonly string[]): Promise<RelationSize[]>;

  /**
   * Runs the request's migrations on the target inside one transaction, under the executor's
   * `lock_timeout` and `statement_timeout` (or the request's), timing each statement and reading
   * the locks its backend took, then rolls the transaction back whatever happened (SPEC §9
   * "Rehearse"). Writes nothing to the tracking tables; leaves the schema and the data as they
   * were. A statement that fails is reported, not thrown, and ends the rehearsal; only a
   * rehearsal that could not be run or read (no connection) throws. Optional: without it
   * `rehearse` is refused as unsupported.
   */
  rehearse?(request: RehearseRequest): Promise<RehearseOutcome>;

  /** Releases connections. The executor is unusable afterwards. */
  close(): Promise<void>;
}

export interface LockOptions {
  timeoutMs: number;
  /** Who is asking, for the holder's description seen by waiters (e.g. the actor). */
  holder: string;
}

export interface LockHandle {
  release(): Promise<void>;
}

/** The migration to run, as the executor needs it. */
export interface MigrationToRun {
  name: string;
  sql: string;
  transactional: boolean;
  /** The up section's checksum, recorded with an apply. */
  checksum: string;
}

export interface ApplyRequest {
  migration: MigrationToRun;
  actor: string;
  /**
   * How long to wait, in ms, when another applier has started this migration and not finished
   * it — which only a `per-unit` executor can find (a run lock keeps others out otherwise). Then
   * `already_applied` if it finished, `StateConflictError` if it ended otherwise, and
   * `LockBusyError` naming it if it is still running when the wait is up. 0 or absent: refuse
   * at once with `LockBusyError`.
   */
  claimWaitMs?: number;
  /** This run's limits for the migration's SQL, in place of the executor's own (see below). */
  timeouts?: MigrationTimeouts;
}

/**
 * Limits for one migration's SQL that override the executor's defaults for this request only
 * (`studio-migrate --lock-timeout` / `--statement-timeout`, the API's `lockTimeoutMs` /
 * `statementTimeoutMs`). A field left out keeps the executor's default. Executors on PostgreSQL
 * apply them as `lock_timeout` and `statement_timeout` to each statement of the migration (in
 * place of their defaults, retries after a lock timeout unchanged); the engine's own bookkeeping
 * keeps the executor's defaults. The engine has checked the bounds (`isValidLockTimeoutMs`,
 * `isValidStatementTimeoutMs`).
 */
export interface MigrationTimeouts {
  /** How long each statement may wait for a lock (`lock_timeout`), in ms. */
  lockTimeoutMs?: number;
  /** How long each statement may run (`statement_timeout`), in ms. */
  statementTimeoutMs?: number;
}

export type ApplyOutcome =
  | { status: "applied"; executionTimeMs: number }
  | { status: "already_applied" }
  | { status: "failed"; executionTimeMs: number; error: SqlFailure };

export interface RollbackRequest {
  /** `sql` is the down section; `checksum` is the up section's, for the event. */
  migration: MigrationToRun;
  actor: string;
  /** This run's limits for the down SQL, in place of the executor's own. */
  timeouts?: MigrationTimeouts;
}

export type RollbackOutcome =
  | { status: "rolled_back"; executionTimeMs: number }
  | { status: "not_applied" }
  | { status: "failed"; executionTimeMs: number; error: SqlFailure };

/** A row state a bookkeeping change may start from; `absent` means no row yet. */
export type ExpectedState = RecordedStatus | "absent";

/** One bookkeeping change: a row update and its event, no migration SQL. */
export type Bookkeeping =
  | {
      /** The row becomes `applied` now, by the actor, with this checksum and no execution time. */
      kind: "mark_applied";
      migrationName: string;
      checksum: string;
      action: "baseline" | "resolve";
      expect: readonly ExpectedState[];
      /**
       * What the event says besides (`adopt`: where the history came from, e.g. `adopted from
       * dbmate (public.schema_migrations, version 001)`), in its `error_message` column — the
       * audit trail's only free-text column, which on a succeeded event carries a note.
       */
      note?: string | undefined;
    }
  | {
      /** The row becomes `rolled_back` now, by the actor. */
      kind: "mark_rolled_back";
      migrationName: string;
      action: "rollback" | "resolve";
      expect: readonly ExpectedState[];
    }
  | {
      /** Only the row's checksum changes. */
      kind: "accept_checksum";
      migrationName: string;
      checksum: string;
      action: "resolve";
      expect: readonly ExpectedState[];
    }
  | {
      /**
       * A `transaction:false` attempt (`apply`: its up section; `rollback`: its down section)
       * found interrupted gets the `failed` event its runner never wrote (SPEC §3), its actor who
       * started it, no execution time, its message `interruptedMessage`'s. Decided under the unit
       * lock on the row as it is then, never on the planner's read: written only while the row
       * is still that started attempt and its runner is not working on it (the test that sets
       * `MigrationRecord.running`), and only once per attempt — not when a failed event of
       * `action` starting with `INTERRUPTED_EVENT_PREFIX` was recorded at or after the row's
       * `applied_at`. Otherwise nothing is written and nothing is refused. The row stays as it is.
       */
      kind: "record_interrupted";
      migrationName: string;
      action: "apply" | "rollback";
    };

export interface EventQuery {
  migrationName?: string | undefined;
  /** Only events with an id below this one (the previous page's last id). */
  before?: string | undefined;
  limit: number;
}

/** The resolution a bookkeeping change records in its event: only a `resolve` has one. */
export function resolutionOf(change: Bookkeeping): Resolution | null {
  if (change.kind === "record_interrupted" || change.action !== "resolve") return null;
  switch (change.kind) {
    case "mark_applied":
      return "applied";
    case "mark_rolled_back":
      return "rolled_back";
    case "accept_checksum":
      return "accept_checksum";
  }
}

/** What `recordChanges` wrote besides the changes asked for, each written exactly once. */
export interface RecordedChanges {
  /** The `failed` events of interrupted attempts (`record_interrupted`) written by this call. */
  readonly interrupted: readonly InterruptedEventWritten[];
}

/** An interrupted attempt's `failed` event, as written. */
export interface InterruptedEventWritten {
  readonly migrationName: string;
  readonly action: "apply" | "rollback";
  /** Who started the attempt (the event's actor). */
  readonly actor: string | null;
  readonly errorMessage: string;
}
