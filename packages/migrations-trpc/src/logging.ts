import { type AttemptLog, capMessage } from "@studio/migrations-core";

/** One structured line per attempt (SPEC §6): JSON, no SQL, no secret, an error of at most 16 KiB. */
export function attemptLogLine(attempt: AttemptLog, at: Date = new Date()): string {
  return JSON.stringify({
    ts: at.toISOString(),
    level: attempt.outcome === "succeeded" ? "info" : "error",
    event: "migration_attempt",
    migration: attempt.migrationName,
    action: attempt.action,
    outcome: attempt.outcome,
    ms: attempt.executionTimeMs,
    actor: attempt.actor,
    ...(attempt.error === null ? {} : { error: capMessage(attempt.error) }),
  });
}
