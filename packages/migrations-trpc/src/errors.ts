import {
  isMigrationError,
  type MigrationErrorCode,
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
};

/** What `error.data.migration` carries to a client, beside tRPC's own `code` and `httpStatus`. */
export interface MigrationErrorData {
  /** The core's stable code, e.g. `CHECKSUM_DRIFT`. */
  code: MigrationErrorCode;
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
}

/** A migration run that failed midway, as a 422 that still carries the run's results. */
export class MigrationRunFailedError extends TRPCError {
  constructor(
    readonly migrationName: string,
    readonly failure: SqlFailure,
    readonly results: unknown[] | null,
  ) {
    super({
      code: "UNPROCESSABLE_CONTENT",
      message: `Migration ${migrationName} failed: ${failure.message}`,
    });
  }
}

export function toTRPCError(error: unknown): TRPCError {
  if (error instanceof TRPCError) return error;
  if (isMigrationError(error)) {
    return new TRPCError({ code: TRPC_CODE[error.code], message: error.message, cause: error });
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
      hint: null,
      migrationName: error.migrationName,
      failure: error.failure,
      results: error.results,
    };
  }
  const cause = error.cause;
  if (!isMigrationError(cause)) return null;
  const named =
    "migrationName" in cause && typeof cause.migrationName === "string"
      ? cause.migrationName
      : null;
  return { code: cause.code, hint: cause.hint, migrationName: named, failure: null, results: null };
}
