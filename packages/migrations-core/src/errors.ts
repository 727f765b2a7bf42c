import type { LintReport } from "./lint.ts";
import { describeRemedy, type Remedy } from "./remedies.ts";

/**
 * The core's typed errors. Each carries a stable `code` so that transports (tRPC, REST, the CLI)
 * map them to statuses in one place, without matching on messages.
 *
 * Conditions that stop a run before it starts are errors; what happens during a run (a migration's
 * SQL failing) is reported as result data instead.
 */
export type MigrationErrorCode =
  /** Input the core can reject on its own (a malformed name, contradictory options). */
  | "INVALID_INPUT"
  /** A migration name that no file and no record knows. */
  | "MIGRATION_NOT_FOUND"
  /**
   * A migration file that cannot be loaded (empty, unparsable, a version two files share, not
   * text), where the run would have to pass it (SPEC §2; warnings never raise it).
   */
  | "INVALID_MIGRATION_FILE"
  /** Another applier holds the migration lock and did not release it in time. */
  | "LOCK_BUSY"
  /** An applied migration's file no longer matches its recorded checksum. */
  | "CHECKSUM_DRIFT"
  /** Pending migrations older than the newest applied one, not explicitly allowed. */
  | "OUT_OF_ORDER"
  /** A named migration was asked for while earlier ones are still pending. */
  | "EARLIER_PENDING"
  /** A failed or interrupted migration that may have left partial changes blocks applies. */
  | "MIGRATION_BLOCKED"
  /** The request does not fit the migration's current state (or the state changed under it). */
  | "STATE_CONFLICT"
  /** Rolling back anything but the most recently applied migration. */
  | "ROLLBACK_ORDER"
  /** Rolling back a migration that has no down section (or no file) without `markOnly`. */
  | "NO_DOWN_MIGRATION"
  /** `adopt`: the other tool's history table (or its `version` column) is not in the database. */
  | "FOREIGN_HISTORY_NOT_FOUND"
  /** A migration's SQL failed; the migration was not applied. */
  | "MIGRATION_FAILED"
  /** The database could not be reached, or an attempt's outcome could not be established. */
  | "EXECUTOR_UNAVAILABLE"
  /**
   * The database answered, and refused the engine's role: a missing privilege, a read-only
   * standby (or read-only transactions), a failed login, no such database. A configuration to
   * fix, which waiting will not: unlike `EXECUTOR_UNAVAILABLE`, retrying as is changes nothing.
   */
  | "DATABASE_REFUSED"
  /**
   * `apply` with `strict`: the lint found error-level findings in what would run, so nothing ran.
   * A precondition the caller set (SPEC §9), not a state of the database.
   */
  | "LINT_REFUSED"
  /**
   * The engine was set up without what the operation needs: no linter for `lint` or a strict
   * apply, an executor that cannot rehearse. The host's configuration, not the request.
   */
  | "UNSUPPORTED";

export abstract class MigrationError extends Error {
  abstract readonly code: MigrationErrorCode;
  /**
   * What the operator can do about it, as data, when it is one of the remedies every face knows
   * how to word (a command, a button); `null` when there is none, or only advice in {@link hint}.
   */
  readonly remedy: Remedy | null;
  /**
   * What the operator can do about it, in plain words that name no face's options: the remedy
   * described, or advice of its own (what to grant, where to connect).
   */
  readonly hint: string | null;

  constructor(
    message: string,
    options: { remedy?: Remedy | null; hint?: string | null; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.remedy = options.remedy ?? null;
    this.hint = options.hint ?? (this.remedy === null ? null : describeRemedy(this.remedy));
  }
}

export class InvalidInputError extends MigrationError {
  readonly code = "INVALID_INPUT";
}

export class MigrationNotFoundError extends MigrationError {
  readonly code = "MIGRATION_NOT_FOUND";
  constructor(readonly migrationName: string) {
    super(`No migration named "${migrationName}" exists (no file, no record).`, {
      remedy: { kind: "check_name", migrationName },
    });
  }
}

/**
 * A problem found loading the migration files: where (the file, and the 1-based line of the file
 * when one applies), what, and whether it blocks.
 *
 * - `error`: the file does not load. It blocks what would have to pass it — an apply of all
 *   pending migrations, or of any target at or after its `version` (every target, when the
 *   version is unknown) — and nothing else: `list`, `history`, rollbacks and applies up to an
 *   earlier migration go on.
 * - `warning`: blocks nothing. The migration loads (an option dbmate ignores), or the file is
 *   ignored as dbmate would never read it as a migration either (a `.sql` file whose name is not
 *   a migration name).
 */
export interface MigrationFileProblem {
  file: string;
  line: number | null;
  message: string;
  severity: "error" | "warning";
  /** The version (leading digits, as written) of the migration the file holds, when known. */
  version: string | null;
  /** The migration's name (the file stem), when the file has a migration name. */
  migrationName: string | null;
}

export class InvalidMigrationFileError extends MigrationError {
  readonly code = "INVALID_MIGRATION_FILE";
  /** The blocking problems (errors) that stopped the run. */
  constructor(readonly problems: readonly MigrationFileProblem[]) {
    super(`Migration files cannot be loaded: ${problems.map(formatFileProblem).join("; ")}`, {
      remedy: {
        kind: "fix_file",
        file: problems.map((problem) => problem.file).join(", "),
        blocking: true,
      },
    });
  }
}

/** `file:line: message`, with `warning: ` before the message of a non-blocking problem. */
export function formatFileProblem(problem: MigrationFileProblem): string {
  const at = problem.line === null ? problem.file : `${problem.file}:${problem.line}`;
  return `${at}: ${problem.severity === "warning" ? "warning: " : ""}${problem.message}`;
}

export class LockBusyError extends MigrationError {
  readonly code = "LOCK_BUSY";
  constructor(
    readonly holder: string | null,
    readonly waitedMs: number,
  ) {
    super(
      `Another applier holds the migrations lock${holder ? ` (${holder})` : ""}; gave up after ${waitedMs} ms.`,
      { remedy: { kind: "wait_for_other_run" } },
    );
  }
}

export class ChecksumDriftError extends MigrationError {
  readonly code = "CHECKSUM_DRIFT";
  constructor(readonly migrationNames: readonly string[]) {
    super(
      `Applied migration${migrationNames.length > 1 ? "s" : ""} changed on disk since ${migrationNames.length > 1 ? "they were" : "it was"} applied: ${migrationNames.join(", ")}.`,
      { remedy: { kind: "restore_or_accept_checksum", migrationNames: [...migrationNames] } },
    );
  }
}

export class OutOfOrderError extends MigrationError {
  readonly code = "OUT_OF_ORDER";
  constructor(
    readonly migrationNames: readonly string[],
    readonly newestApplied: string,
  ) {
    super(
      `Pending migration${migrationNames.length > 1 ? "s are" : " is"} older than the newest applied one (${newestApplied}): ${migrationNames.join(", ")}.`,
      { remedy: { kind: "allow_out_of_order", migrationNames: [...migrationNames] } },
    );
  }
}

export class EarlierPendingError extends MigrationError {
  readonly code = "EARLIER_PENDING";
  constructor(
    readonly migrationName: string,
    readonly pendingBefore: readonly string[],
  ) {
    super(
      `Cannot apply ${migrationName} alone: earlier migration${pendingBefore.length > 1 ? "s are" : " is"} still pending: ${pendingBefore.join(", ")}.`,
      {
        remedy: {
          kind: "apply_up_to",
          migrationName,
          lastPendingBefore: pendingBefore.at(-1) ?? migrationName,
        },
      },
    );
  }
}

export class MigrationBlockedError extends MigrationError {
  readonly code = "MIGRATION_BLOCKED";
  constructor(
    /** The failed or interrupted migrations, with the section whose attempt did not finish. */
    readonly blocking: readonly { migrationName: string; attempt: "apply" | "rollback" }[],
    message: string,
  ) {
    const first = blocking[0];
    super(message, {
      remedy:
        first === undefined
          ? null
          : { kind: "resolve", migrationName: first.migrationName, attempt: first.attempt },
    });
  }

  get migrationNames(): string[] {
    return this.blocking.map((entry) => entry.migrationName);
  }
}

export class StateConflictError extends MigrationError {
  readonly code = "STATE_CONFLICT";
  constructor(
    readonly migrationName: string | null,
    message: string,
    remedy: Remedy | null = null,
  ) {
    super(message, { remedy });
  }
}

export class RollbackOrderError extends MigrationError {
  readonly code = "ROLLBACK_ORDER";
  constructor(
    readonly migrationName: string,
    readonly mustRollBackFirst: string,
  ) {
    super(
      `Cannot roll back ${migrationName}: ${mustRollBackFirst} was applied after it and must be rolled back first.`,
      { remedy: { kind: "roll_back_first", migrationName: mustRollBackFirst } },
    );
  }
}

export class NoDownMigrationError extends MigrationError {
  readonly code = "NO_DOWN_MIGRATION";
  constructor(
    readonly migrationName: string,
    reason: "no_down_section" | "no_file",
    /**
     * When the migration is one of a run (`rollback --to` / `--steps`): the run, described (e.g.
     * `everything applied after 001_a`). The whole run is refused before anything runs.
     */
    run?: string,
  ) {
    const why =
      reason === "no_file"
        ? "its file is missing, so there is no down SQL to run"
        : "it has no down section";
    super(
      run === undefined
        ? `Cannot roll back ${migrationName}: ${why}.`
        : `Cannot roll back ${run}: ${migrationName} is among them and ${why}; nothing was rolled back.`,
      { remedy: { kind: "mark_rolled_back", migrationName, inRun: run !== undefined } },
    );
  }
}

/**
 * `adopt` found no history of the other tool where it looked: no such table in the database, or a
 * table without a `version` column.
 */
export class ForeignHistoryNotFoundError extends MigrationError {
  readonly code = "FOREIGN_HISTORY_NOT_FOUND";
  constructor(
    /** `dbmate` or `supabase`. */
    readonly tool: string,
    /** The table looked for, schema-qualified as resolved (e.g. `public.schema_migrations`). */
    readonly table: string,
    reason: "no_table" | "no_version_column" = "no_table",
  ) {
    super(
      reason === "no_table"
        ? `There is no ${tool} table ${table} in this database.`
        : `The ${tool} table ${table} has no version column.`,
      { remedy: { kind: "name_history_table", tool } },
    );
  }
}

/** A migration's SQL failed. Runs report this as data; transports may raise it. */
export class MigrationFailedError extends MigrationError {
  readonly code = "MIGRATION_FAILED";
  constructor(
    readonly migrationName: string,
    readonly failure: SqlFailure,
  ) {
    super(`Migration ${migrationName} failed: ${failure.message}`);
  }
}

export class ExecutorUnavailableError extends MigrationError {
  readonly code = "EXECUTOR_UNAVAILABLE";
}

/** Why the database refused (see {@link DatabaseRefusedError}). */
export type DatabaseRefusal =
  /** The connecting role lacks a privilege (or the ownership) the engine needs. */
  | "privilege"
  /** The target is a standby in recovery: migrations must run on the primary. */
  | "standby"
  /** Transactions are read-only (`default_transaction_read_only`, or a standby). */
  | "read_only"
  /** The login was refused: no such role, a wrong password, no `pg_hba.conf` entry, `NOLOGIN`. */
  | "login"
  /** The database named in the connection does not exist. */
  | "no_database";

/**
 * The database refused the engine's role before anything of the request was done — the message
 * names what was refused (the privilege and the object, or the standby), the hint what to grant
 * or where to connect instead. Nothing was applied or recorded.
 */
export class DatabaseRefusedError extends MigrationError {
  readonly code = "DATABASE_REFUSED";
  constructor(
    readonly reason: DatabaseRefusal,
    message: string,
    options: { hint: string; cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What the database said when a migration's SQL failed. */
export interface SqlFailure {
  message: string;
  /** SQLSTATE, when the database gave one. */
  code: string | null;
  detail: string | null;
  hint: string | null;
  /** 1-based character position in the statement, when the database gave one. */
  position: number | null;
}

export function isMigrationError(error: unknown): error is MigrationError {
  return error instanceof MigrationError;
}

/**
 * A strict apply (SPEC §9) refused before anything ran: the lint found error-level findings in the
 * migrations it would have run. `report` is the lint's report, findings and sizes included.
 */
export class LintRefusedError extends MigrationError {
  readonly code = "LINT_REFUSED";
  constructor(readonly report: LintReport) {
    const errors = report.findings.filter((finding) => finding.level === "error");
    const first = errors[0];
    const where =
      first === undefined ? "" : ` (first: ${first.rule} in ${first.migration}:${first.line})`;
    super(
      `Strict apply refused: the lint found ${report.errors} error-level finding${report.errors === 1 ? "" : "s"} in what would run${where}; nothing was applied.`,
      {
        hint: "Make each flagged statement safe (each finding says how), or accept one knowingly with a -- lint:ignore <rule> <reason> comment on the line above it; or apply without strict.",
      },
    );
  }
}

/** The operation needs something the engine was not given (see `UNSUPPORTED`). */
export class UnsupportedError extends MigrationError {
  readonly code = "UNSUPPORTED";
}
