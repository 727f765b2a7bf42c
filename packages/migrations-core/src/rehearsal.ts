import type { SqlFailure } from "./errors.ts";
import type { MigrationTimeouts } from "./executor.ts";
import type { RelationKind, TableLockMode } from "./relations.ts";

/**
 * A rehearsal (SPEC §9 "Rehearse"): the pending transactional migrations run on the real target
 * inside ONE transaction, each statement timed and the locks it took read from `pg_locks`, then
 * rolled back — nothing recorded, the database as it was. The engine plans and splits the
 * statements; an executor runs them (`Executor.rehearse`) and answers what each did.
 */

/** The most characters of a statement a rehearsal reports (white space collapsed). */
export const REHEARSED_STATEMENT_CHARACTERS = 200;

/** One statement of a migration to rehearse, as `splitSqlStatements` cut it. */
export interface StatementToRehearse {
  /** The statement as it runs (without its terminating semicolon). */
  readonly sql: string;
  /** The file's 1-based line on which it starts. */
  readonly line: number;
}

/** A transactional migration's up section, statement by statement. */
export interface MigrationToRehearse {
  readonly name: string;
  readonly statements: readonly StatementToRehearse[];
}

export interface RehearseRequest {
  /**
   * Transactional migrations, in order. They run one after the other in a single transaction on
   * the target — each starting from a session reset, as each applied migration does — which is
   * then rolled back, whatever happened. The first statement that fails ends the rehearsal.
   */
  readonly migrations: readonly MigrationToRehearse[];
  /** This rehearsal's `lock_timeout` / `statement_timeout`, in place of the executor's own. */
  readonly timeouts?: MigrationTimeouts | undefined;
}

/** A lock a statement's backend took on a relation. */
export interface RehearsedLock {
  /**
   * The relation, schema-qualified as `format('%I.%I')` writes it (`platform.users`). Relations
   * the statement dropped (a table rewrite's transient copies too) have no name left in the
   * catalog: one entry per mode counts them, `(2 relations dropped by the statement)`.
   */
  readonly relation: string;
  /** null for relations the statement dropped. */
  readonly kind: RelationKind | null;
  readonly mode: TableLockMode;
}

/** One statement as it ran in the rehearsal. */
export interface RehearsedStatement {
  /** 0-based, within its migration. */
  readonly index: number;
  /** The file's 1-based line on which it starts. */
  readonly line: number;
  /** The statement, white space collapsed, cut at {@link REHEARSED_STATEMENT_CHARACTERS}. */
  readonly statement: string;
  /** How long it ran, in milliseconds (to the microsecond), as the database's clock measured it. */
  readonly elapsedMs: number;
  /**
   * The relation locks its backend took while it ran (from `pg_locks` for `pg_backend_pid()`):
   * those held after it and not before it, so a lock an earlier statement of the rehearsal
   * already held is not repeated. Table locks are kept to the end of the transaction: in an
   * apply, every one of them is held until its migration commits.
   */
  readonly locks: readonly RehearsedLock[];
  /** What the database said when it failed (the rehearsal stopped there); null when it ran. */
  readonly error: SqlFailure | null;
}

/** What an executor answers for one migration of the request, in the request's order. */
export interface RehearsedMigration {
  readonly migrationName: string;
  /** `not_reached`: an earlier statement failed, so none of its statements ran. */
  readonly status: "rehearsed" | "failed" | "not_reached";
  /** Its statements' time, added up; null when not reached. */
  readonly elapsedMs: number | null;
  /** The statements that ran, the failed one last; empty when not reached. */
  readonly statements: readonly RehearsedStatement[];
}

/** An executor's answer: every migration of the request, in order, and all of it rolled back. */
export interface RehearseOutcome {
  readonly migrations: readonly RehearsedMigration[];
}

/** A statement as a rehearsal reports it: white space collapsed, cut at 200 characters. */
export function rehearsedStatementText(sql: string): string {
  const collapsed = sql.replace(/\s+/g, " ").trim();
  const characters = [...collapsed];
  if (characters.length <= REHEARSED_STATEMENT_CHARACTERS) return collapsed;
  return `${characters
    .slice(0, REHEARSED_STATEMENT_CHARACTERS - 1)
    .join("")
    .trimEnd()}…`;
}
