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
  | "DATABASE_REFUSED";

export abstract class MigrationError extends Error {
  abstract readonly code: MigrationErrorCode;
  /** What the operator can do about it, when there is something to do. */
  readonly hint: string | null;

  constructor(message: string, options: { hint?: string | null; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint ?? null;
  }
}

export class InvalidInputError extends MigrationError {
  readonly code = "INVALID_INPUT";
}

export class MigrationNotFoundError extends MigrationError {
  readonly code = "MIGRATION_NOT_FOUND";
  constructor(readonly migrationName: string) {
    super(`No migration named "${migrationName}" exists (no file, no record).`);
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
      hint: "Fix or remove the file, then retry; applying only the migrations before it (upTo) is not blocked.",
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
      { hint: "Wait for the other run to finish, then retry." },
    );
  }
}

export class ChecksumDriftError extends MigrationError {
  readonly code = "CHECKSUM_DRIFT";
  constructor(readonly migrationNames: readonly string[]) {
    super(
      `Applied migration${migrationNames.length > 1 ? "s" : ""} changed on disk since ${migrationNames.length > 1 ? "they were" : "it was"} applied: ${migrationNames.join(", ")}.`,
      {
        hint: "Restore the original file, or accept the new checksum with resolve (accept_checksum) if the edit is cosmetic.",
      },
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
      { hint: "Apply with allowOutOfOrder if running it now is safe, or renumber the file." },
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
        hint: `Apply everything up to it with upTo "${migrationName}", or record the earlier ones with baseline if they were applied by hand.`,
      },
    );
  }
}

export class MigrationBlockedError extends MigrationError {
  readonly code = "MIGRATION_BLOCKED";
  constructor(
    readonly migrationNames: readonly string[],
    message: string,
  ) {
    super(message, {
      hint: "Inspect the database, then resolve the migration as applied (finished by hand) or rolled_back (undone by hand).",
    });
  }
}

export class StateConflictError extends MigrationError {
  readonly code = "STATE_CONFLICT";
  constructor(
    readonly migrationName: string | null,
    message: string,
    hint?: string,
  ) {
    super(message, { hint: hint ?? null });
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
      { hint: `Roll back ${mustRollBackFirst} first.` },
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
      {
        hint:
          run === undefined
            ? "Undo it by hand if needed, then mark it rolled back (markOnly)."
            : `Roll back what was applied after ${migrationName} first, then undo ${migrationName} by hand and mark it rolled back (markOnly); or, if every migration of the run was undone by hand, mark them all (markOnly).`,
      },
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
      {
        hint:
          tool === "dbmate"
            ? "Name the table dbmate used with --table (dbmate's --migrations-table), schema-qualified if it is not in the connection's current schema."
            : "The Supabase CLI records its history in supabase_migrations.schema_migrations; name another table with --table.",
      },
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
