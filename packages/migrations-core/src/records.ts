/**
 * The tracking tables of SPEC §3, as the core sees them. Executors map their rows to these shapes.
 */

/** `platform.schema_migrations.status`. */
export type RecordedStatus = "applied" | "failed" | "rolled_back";

/** A row of `platform.schema_migrations`: one per migration, its current state. */
export interface MigrationRecord {
  migrationName: string;
  status: RecordedStatus;
  appliedAt: Date;
  appliedBy: string | null;
  /** The last failure's message. */
  errorMessage: string | null;
  /**
   * `null` on a `failed` row means the attempt started and never finished: a non-transactional
   * migration is recorded before it runs, and a finished attempt always records its time.
   */
  executionTimeMs: number | null;
  checksum: string | null;
  /**
   * Whether the attempt this row records ran in a transaction (`false`: a failure may have left
   * part of its changes). `null` for rows written without running anything, and for rows an
   * earlier version wrote; then the file's own setting is all there is to go by.
   */
  transactional?: boolean | null | undefined;
  rolledBackAt: Date | null;
  rolledBackBy: string | null;
  /**
   * For an unfinished (`failed`, no execution time) row: whether its runner is still working, as
   * the database itself answers it (the runner's session or statement is there). `false` or
   * absent: the attempt was interrupted.
   */
  running?: boolean | undefined;
}

/** Whether a `failed` row is an attempt that never finished (see `executionTimeMs`). */
export function isInterrupted(record: MigrationRecord): boolean {
  return record.status === "failed" && record.executionTimeMs === null;
}

export type MigrationAction = "apply" | "rollback" | "baseline" | "resolve";
export type EventOutcome = "succeeded" | "failed";

/** A row of `platform.schema_migration_events`: the append-only audit trail. */
export interface MigrationEvent {
  /** Increases with every event; the history's cursor. */
  id: string;
  migrationName: string;
  action: MigrationAction;
  outcome: EventOutcome;
  actor: string | null;
  at: Date;
  executionTimeMs: number | null;
  errorMessage: string | null;
  checksum: string | null;
  /** For a `resolve`, the resolution chosen (SPEC §3); `null` for every other action. */
  resolution: Resolution | null;
}

/** How an operator clears a problem (SPEC §4 Resolve). */
export type Resolution = "applied" | "rolled_back" | "accept_checksum";

/** The error message an interrupted row carries until its attempt finishes. */
export function startedMessage(actor: string): string {
  return `started by ${actor} and not finished: the process or its connection ended mid-migration`;
}

const ROLLBACK_ATTEMPT = "rollback ";

/**
 * The error message of a `transaction:false` down section's row from the moment it starts: like
 * an up section's, the row is the claim, and shows it interrupted should it never finish.
 */
export function rollbackStartedMessage(actor: string): string {
  return `${ROLLBACK_ATTEMPT}started by ${actor} and not finished: the process or its connection ended mid-rollback`;
}

/** The error message of a `transaction:false` down section that failed partway. */
export function rollbackFailedMessage(message: string): string {
  return `${ROLLBACK_ATTEMPT}failed partway: ${message}`;
}

/** Whether a `failed` row records a down section's attempt rather than an up section's. */
export function isRollbackAttempt(record: MigrationRecord): boolean {
  return record.status === "failed" && (record.errorMessage ?? "").startsWith(ROLLBACK_ATTEMPT);
}

/** The start of every message an interrupted attempt's failed event carries (see below). */
export const INTERRUPTED_EVENT_PREFIX = "interrupted: ";

/** An interrupted attempt, as its failed event tells it (see {@link interruptedMessage}). */
export interface InterruptedAttempt {
  /** Who started it; `null` when the row does not say. */
  startedBy: string | null;
  /** When: the row's `applied_at`, as ISO 8601 text. */
  startedAt: string;
  /**
   * A down section's attempt: its claim keeps the row's `applied_at` — when the migration was
   * last applied — so only a time the rollback started after is known.
   */
  rollback: boolean;
  /** Who found it interrupted, and when (ISO 8601 text). */
  detectedBy: string;
  detectedAt: string;
}

/**
 * The error message of the failed event recorded for an attempt found interrupted: its runner
 * stopped between the claim and the record, so it never wrote the event itself (SPEC §3: one row
 * for every attempt). Starts with {@link INTERRUPTED_EVENT_PREFIX}, which is what tells, under
 * the unit lock, that the attempt has its event already.
 */
export function interruptedMessage(attempt: InterruptedAttempt): string {
  const when = attempt.rollback
    ? `after ${attempt.startedAt} (when it was last applied)`
    : `at ${attempt.startedAt}`;
  return `${INTERRUPTED_EVENT_PREFIX}started by ${attempt.startedBy ?? "an unknown applier"} ${when} and its runner stopped before it finished, so part of it may have run (detected by ${attempt.detectedBy} at ${attempt.detectedAt})`;
}

/**
 * {@link rollbackStartedMessage} around its actor: the text before and after it, from which the
 * actor is read back (a down section's claim keeps `applied_by`, who applied the migration).
 */
export function rollbackStartedMessageParts(): readonly [before: string, after: string] {
  const slot = "\u0000";
  const [before = "", after = ""] = rollbackStartedMessage(slot).split(slot);
  return [before, after];
}

/**
 * Who started the attempt an unfinished row records: for a down section, the actor its started
 * message names; for an up section, `applied_by`.
 */
export function startedByOf(record: MigrationRecord): string | null {
  const message = record.errorMessage ?? "";
  if (isRollbackAttempt(record)) {
    const [before, after] = rollbackStartedMessageParts();
    if (
      message.length >= before.length + after.length &&
      message.startsWith(before) &&
      message.endsWith(after)
    ) {
      return message.slice(before.length, message.length - after.length);
    }
  }
  return record.appliedBy;
}
