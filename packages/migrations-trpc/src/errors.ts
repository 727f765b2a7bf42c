import {
  capMessage,
  isMigrationError,
  LintRefusedError,
  type LintReport,
  type MigrationErrorCode,
  type Remedy,
  type SqlFailure,
} from "@studio/migrations-core";
import { TRPCError } from "@trpc/server";
import type { TRPC_ERROR_CODE_KEY } from "@trpc/server/rpc";

/** The one place a core error becomes a transport status (SPEC §5). */
export const TRPC_CODE: Record<MigrationErrorCode, TRPC_ERROR_CODE_KEY> = {
  INVALID_INPUT: "BAD_REQUEST",
  MIGRATION_NOT_FOUND: "NOT_FOUND",
  INVALID_MIGRATION_FILE: "CONFLICT",
  LOCK_BUSY: "CONFLICT",
  CHECKSUM_DRIFT: "CONFLICT",
  OUT_OF_ORDER: "CONFLICT",
  EARLIER_PENDING: "CONFLICT",
  MIGRATION_BLOCKED: "CONFLICT",
  STATE_CONFLICT: "CONFLICT",
  ROLLBACK_ORDER: "PRECONDITION_FAILED",
  NO_DOWN_MIGRATION: "PRECONDITION_FAILED",
  FOREIGN_HISTORY_NOT_FOUND: "NOT_FOUND",
  MIGRATION_FAILED: "UNPROCESSABLE_CONTENT",
  EXECUTOR_UNAVAILABLE: "SERVICE_UNAVAILABLE",
  // Studio's own database refused Studio's role (a privilege, a standby): not the caller's
  // authorization (403 is `authorize`'s), and not an internal error (500 hides the message);
  // Studio cannot serve it until its database is fixed. The code and hint tell it from an outage.
  DATABASE_REFUSED: "SERVICE_UNAVAILABLE",
  // A strict apply's own condition failed (SPEC §9): 412, as for the other refusals a request's
  // precondition causes (rollback order, no down section) — not 409, which says the database's
  // state (a lock, drift, order) stands in the way. The findings travel in `data.migration.lint`.
  LINT_REFUSED: "PRECONDITION_FAILED",
  // The server was set up without what the call needs (no linter, an executor that cannot
  // rehearse): 501, the server's configuration, never the caller's input.
  UNSUPPORTED: "NOT_IMPLEMENTED",
};

/** What `error.data.migration` carries to a client, beside tRPC's own `code` and `httpStatus`. */
export interface MigrationErrorData {
  /** The core's stable code, e.g. `CHECKSUM_DRIFT`. */
  code: MigrationErrorCode;
  /** What the caller can do, as data (a client words it in its own terms); see `Remedy`. */
  remedy: Remedy | null;
  /** The same in plain words, or the core's advice when there is no remedy kind for it. */
  hint: string | null;
  /** The migration concerned, when there is one. */
  migrationName: string | null;
  /** For `MIGRATION_FAILED`: what Postgres said. */
  failure: SqlFailure | null;
  /**
   * For `MIGRATION_FAILED`: every step's result (`ApplyStepResult` / `RollbackStepResult`), the
   * failed one included — one step for a single rollback.
   */
  results: unknown[] | null;
  /** For `LINT_REFUSED`: the lint's report, every finding with its size. */
  lint: LintReport | null;
}

/**
 * A migration run that failed midway, as a 422 that still carries the run's results. The
 * database's message travels once (SPEC §3), whole up to the cap, in `failure`: the error's own
 * message carries its first line only, and the failed step in `results` drops its copy.
 */
export class MigrationRunFailedError extends TRPCError {
  readonly failure: SqlFailure;
  readonly results: unknown[] | null;

  constructor(
    readonly migrationName: string,
    failure: SqlFailure,
    results: unknown[] | null,
  ) {
    super({
      code: "UNPROCESSABLE_CONTENT",
      message: `Migration ${migrationName} failed: ${firstLine(failure.message)}`,
    });
    this.failure = { ...failure, message: capMessage(failure.message) };
    this.results = results?.map((step) => withoutFailureCopy(step, migrationName)) ?? null;
  }
}

/** The first line of a message, at most 200 characters: what a title or a log summary shows. */
export function firstLine(message: string): string {
  const line = message.split("\n", 1)[0] ?? "";
  return line.length > 200 || line.length < message.length
    ? `${line.slice(0, 200).trimEnd()} …`
    : line;
}

function withoutFailureCopy(step: unknown, migrationName: string): unknown {
  if (typeof step !== "object" || step === null) return step;
  const named = "migrationName" in step && step.migrationName === migrationName;
  return named && "error" in step && step.error !== null ? { ...step, error: null } : step;
}

export function toTRPCError(error: unknown): TRPCError {
  if (error instanceof TRPCError) return error;
  if (isMigrationError(error)) {
    return new TRPCError({
      code: TRPC_CODE[error.code],
      message: capMessage(error.message),
      cause: error,
    });
  }
  // Anything else is a bug or an unexpected failure: say so without leaking its details.
  return new TRPCError({
    code: "INTERNAL_SERVER_ERROR",
    message: "Internal error.",
    cause: error instanceof Error ? error : undefined,
  });
}

/** The `data.migration` part of an error shape, from the error's cause. */
export function migrationErrorData(error: TRPCError): MigrationErrorData | null {
  if (error instanceof MigrationRunFailedError) {
    return {
      code: "MIGRATION_FAILED",
      remedy: null,
      hint: null,
      migrationName: error.migrationName,
      failure: error.failure,
      results: error.results,
      lint: null,
    };
  }
  const cause = error.cause;
  if (!isMigrationError(cause)) return null;
  const named =
    "migrationName" in cause && typeof cause.migrationName === "string"
      ? cause.migrationName
      : null;
  return {
    code: cause.code,
    remedy: cause.remedy,
    hint: cause.hint,
    migrationName: named,
    failure: null,
    results: null,
    lint: cause instanceof LintRefusedError ? cause.report : null,
  };
}
