import type { SqlFailure } from "./errors.ts";
import type { MigrationTimeouts } from "./executor.ts";
import type { Migration } from "./migration.ts";
import type {
  MigrationToRehearse,
  RehearsedStatement,
  RehearseOutcome,
  RehearseRequest,
} from "./rehearsal.ts";
import { splitSqlStatements } from "./sql-statements.ts";

/**
 * How a planned apply becomes a rehearsal and its answer a report (SPEC §9 "Rehearse"): pure
 * functions, so that the engine only plans, locks and calls the executor.
 */

/** How one migration of a rehearsal ended. */
export type RehearsalStatus =
  /** Every statement ran (and was rolled back with the rest). */
  | "rehearsed"
  /** A statement failed: the rehearsal stopped there. */
  | "failed"
  /** An earlier migration's statement failed first. */
  | "not_reached"
  /** A `transaction:false` migration: it cannot run inside a transaction that is rolled back. */
  | "not_rehearsable";

/** One pending migration of a rehearsal, in apply order. */
export interface RehearsalStep {
  migrationName: string;
  status: RehearsalStatus;
  /** Whether its up section runs in a transaction (false: not rehearsable). */
  transactional: boolean;
  /** Why it was not rehearsed (`not_rehearsable`, `not_reached`); null otherwise. */
  reason: string | null;
  /** Its statements' time, added up, in ms; null when none of them ran. */
  elapsedMs: number | null;
  /** The statements that ran, with their time and locks; the failed one last. */
  statements: RehearsedStatement[];
}

/** The statement that ended a rehearsal, and what the database said. */
export interface RehearsalFailure {
  migrationName: string;
  /** 0-based, within its migration. */
  index: number;
  /** The file's 1-based line on which the statement starts. */
  line: number;
  statement: string;
  error: SqlFailure;
}

export interface RehearseReport {
  /** Every pending migration up to the target, in apply order. */
  results: RehearsalStep[];
  /** The statement that failed, when one did: nothing after it ran. */
  failed: RehearsalFailure | null;
  /** The limits the rehearsal asked for in place of the executor's own; null: the executor's. */
  timeouts: MigrationTimeouts | null;
}

/** Said of every `transaction:false` migration a rehearsal passes over. */
export const NOT_REHEARSABLE_REASON =
  "transaction:false: its statements each commit on their own (as CREATE INDEX CONCURRENTLY must), so they cannot run inside a transaction that is rolled back; the migrations after it are rehearsed without its changes";

/** What the executor is asked to run: the transactional migrations, statement by statement. */
export function rehearsalRequest(
  steps: readonly Migration[],
  timeouts: MigrationTimeouts | undefined,
): RehearseRequest {
  const migrations: MigrationToRehearse[] = steps
    .filter((migration) => migration.transactional)
    .map((migration) => ({
      name: migration.name,
      statements: splitSqlStatements(migration.up).map((statement) => ({
        sql: statement.text,
        line: migration.upLine + statement.line - 1,
      })),
    }));
  return timeouts === undefined ? { migrations } : { migrations, timeouts };
}

/** The executor's answer, with the migrations it was not asked to run put back in their place. */
export function rehearsalReport(
  steps: readonly Migration[],
  outcome: RehearseOutcome,
  timeouts: MigrationTimeouts | undefined,
): RehearseReport {
  const answered = new Map(outcome.migrations.map((m) => [m.migrationName, m]));
  let failed: RehearsalFailure | null = null;
  const results = steps.map((migration): RehearsalStep => {
    if (!migration.transactional) {
      return {
        migrationName: migration.name,
        status: "not_rehearsable",
        transactional: false,
        reason: NOT_REHEARSABLE_REASON,
        elapsedMs: null,
        statements: [],
      };
    }
    const answer = answered.get(migration.name);
    if (answer === undefined) {
      throw new Error(`The executor's rehearsal did not answer for ${migration.name}.`);
    }
    const failedStatement = answer.statements.find((statement) => statement.error !== null);
    if (failed === null && failedStatement?.error) {
      failed = {
        migrationName: migration.name,
        index: failedStatement.index,
        line: failedStatement.line,
        statement: failedStatement.statement,
        error: failedStatement.error,
      };
    }
    return {
      migrationName: migration.name,
      status: answer.status,
      transactional: true,
      reason:
        answer.status === "not_reached"
          ? `not run: ${(failed as RehearsalFailure | null)?.migrationName ?? "an earlier migration"} failed first`
          : null,
      elapsedMs: answer.elapsedMs,
      statements: [...answer.statements],
    };
  });
  return { results, failed, timeouts: timeouts ?? null };
}
