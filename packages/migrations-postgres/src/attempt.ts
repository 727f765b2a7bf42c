import {
  capMessage,
  type MigrationToRun,
  type SqlFailure,
  StateConflictError,
} from "@studio/migrations-core";
import type { EventValues } from "./tracking-sql.ts";

/** What every executor records about one attempt at a migration, shaped for `insertEvent`. */
export function attemptEvent(
  migration: MigrationToRun,
  action: "apply" | "rollback",
  outcome: "succeeded" | "failed",
  actor: string,
  executionTimeMs: EventValues["executionTimeMs"],
  errorMessage: string | null,
): EventValues {
  return {
    migrationName: migration.name,
    action,
    outcome,
    actor,
    executionTimeMs,
    errorMessage,
    checksum: migration.checksum,
    resolution: null,
  };
}

export function elapsedSince(started: number): number {
  return Math.max(0, Math.round(performance.now() - started));
}

/**
 * A change found its row in another state than planned (`status` as `selectState` says it:
 * `absent`, a recorded status, or `running`).
 */
export function stateConflict(migrationName: string, status: string): StateConflictError {
  if (status === "running") {
    return new StateConflictError(
      migrationName,
      `${migrationName} is running: an applier started it and is still working on it, so nothing was recorded.`,
      { kind: "wait_for_other_run" },
    );
  }
  return new StateConflictError(
    migrationName,
    `${migrationName} is ${status === "absent" ? "not recorded" : status}, which changed since it was planned; nothing was recorded.`,
    { kind: "refresh_and_retry" },
  );
}

/** A failure as it is stored and returned: its texts capped at 16 KiB, marked as cut (SPEC §3). */
export function capFailure(failure: SqlFailure): SqlFailure {
  const cap = (text: string | null) => (text === null ? null : capMessage(text));
  return {
    ...failure,
    message: capMessage(failure.message),
    detail: cap(failure.detail),
    hint: cap(failure.hint),
  };
}
