import { type MigrationToRun, StateConflictError } from "@studio/migrations-core";
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
  };
}

export function elapsedSince(started: number): number {
  return Math.max(0, Math.round(performance.now() - started));
}

/** A bookkeeping change found its row in another state than planned. */
export function stateConflict(migrationName: string, status: string): StateConflictError {
  return new StateConflictError(
    migrationName,
    `${migrationName} is ${status === "absent" ? "not recorded" : status}, which changed since it was planned; nothing was recorded.`,
    "Look at the current state and retry.",
  );
}
