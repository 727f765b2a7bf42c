/**
 * What an operator can do about a refusal or a problem, as data. The core says which remedy
 * applies and to which migrations; each face words it in its own terms — the CLI as a command to
 * paste (with its target), the page as the button to press, a tRPC or REST client as it likes.
 * The core's own wording ({@link describeRemedy}) names no face's options, so it reads right
 * wherever it ends up (a log line, a REST body).
 */
export type Remedy =
  /** Another run holds the lock, or a migration is still running: wait for it, then retry. */
  | { kind: "wait_for_other_run" }
  /**
   * A migration failed or was interrupted outside a transaction: inspect the database, then
   * resolve it as applied or as rolled back (SPEC §4 *Resolve*). `attempt` says which section
   * did not finish — its up (`apply`) or its down (`rollback`) — which turns around what each
   * resolution means.
   */
  | { kind: "resolve"; migrationName: string; attempt: "apply" | "rollback" }
  /** Applied migrations changed on disk: restore the files, or accept their new checksums. */
  | { kind: "restore_or_accept_checksum"; migrationNames: string[] }
  /** Pending migrations older than the newest applied one: allow it explicitly, or renumber. */
  | { kind: "allow_out_of_order"; migrationNames: string[] }
  /**
   * A migration asked for alone while earlier ones are pending: apply up to it, or, when the
   * earlier ones were applied by hand, record them with a baseline up to `lastPendingBefore`.
   */
  | { kind: "apply_up_to"; migrationName: string; lastPendingBefore: string }
  /** Rollback order: `migrationName`, applied later, must be rolled back first. */
  | { kind: "roll_back_first"; migrationName: string }
  /**
   * A migration with no down section (or no file) to roll back: undo it by hand if needed, then
   * mark it rolled back without running SQL. `inRun`: it is one of a run (`to` / `steps`), so
   * what was applied after it is rolled back first.
   */
  | { kind: "mark_rolled_back"; migrationName: string; inRun: boolean }
  /**
   * A recorded migration whose file is gone: restore the file; or, when it was undone by hand,
   * mark it rolled back (`recorded: "applied"`); or, when it failed (`recorded: "failed"`),
   * resolve it as rolled back — nothing of it is to run again without a file.
   */
  | { kind: "restore_file"; migrationName: string; recorded: "applied" | "failed" }
  /** A migration that failed inside a transaction, leaving nothing behind: fix it, apply again. */
  | { kind: "fix_and_apply"; migrationName: string }
  /**
   * A migration that failed inside a transaction because a statement gave up on a lock another
   * session held (SQLSTATE 55P03): its SQL needs no fix. End or wait for that session, then apply
   * again; or, if writers can queue behind the migration for longer, give this run a longer lock
   * timeout.
   */
  | { kind: "wait_for_lock"; migrationName: string }
  /** A migration file that does not load (`blocking`), or loads with a warning. */
  | { kind: "fix_file"; file: string; blocking: boolean }
  /** A name that no file and no record knows. */
  | { kind: "check_name"; migrationName: string }
  /** `adopt` found no history table where it looked: name the table the tool used. */
  | { kind: "name_history_table"; tool: string }
  /** `rollback to` a migration that is not applied: name an applied one. */
  | { kind: "name_applied_migration"; migrationName: string }
  /** `rollback steps` beyond what is applied: ask for at most `applied`. */
  | { kind: "fewer_steps"; applied: number }
  /** The state changed since the request was planned: look again, then retry. */
  | { kind: "refresh_and_retry" }
  /** The database did not answer (or an outcome is unknown): check the state before retrying. */
  | { kind: "check_state_then_retry" };

export type RemedyKind = Remedy["kind"];

/** The remedy in plain words, naming no face's options or commands. */
export function describeRemedy(remedy: Remedy): string {
  switch (remedy.kind) {
    case "wait_for_other_run":
      return "Wait for the other run to finish, then retry.";
    case "resolve":
      return remedy.attempt === "apply"
        ? `Inspect the database, then resolve ${remedy.migrationName} as applied (finished by hand) or as rolled back (undone by hand, to run it again).`
        : `Inspect the database, then resolve ${remedy.migrationName} as rolled back (its down section finished by hand) or as applied (what of it ran undone by hand; the migration stays applied).`;
    case "restore_or_accept_checksum":
      return `Restore the original file${remedy.migrationNames.length > 1 ? "s" : ""}, or, if the edit is cosmetic, accept the new checksum of ${listed(remedy.migrationNames)}.`;
    case "allow_out_of_order":
      return `If running ${listed(remedy.migrationNames)} now is safe, apply ${remedy.migrationNames.length > 1 ? "them" : "it"} explicitly allowing out-of-order migrations; otherwise renumber the file${remedy.migrationNames.length > 1 ? "s" : ""} after the newest migration.`;
    case "apply_up_to":
      return `Apply everything up to ${remedy.migrationName}; or, if the earlier migrations were applied by hand, record them first with a baseline up to ${remedy.lastPendingBefore}.`;
    case "roll_back_first":
      return `Roll back ${remedy.migrationName} first.`;
    case "mark_rolled_back":
      return remedy.inRun
        ? `Roll back what was applied after ${remedy.migrationName} first, then undo ${remedy.migrationName} by hand and mark it rolled back (recorded only, no SQL runs); or, if every migration of the run was undone by hand, mark them all.`
        : `Undo ${remedy.migrationName} by hand if needed, then mark it rolled back (recorded only, no SQL runs).`;
    case "restore_file":
      return remedy.recorded === "applied"
        ? `Restore the file of ${remedy.migrationName} (a deploy of an older build?), or, if it was undone by hand, mark it rolled back (recorded only, no SQL runs).`
        : `Restore the file of ${remedy.migrationName} (a deploy of an older build?), or, if it is gone for good, inspect the database and resolve it as applied (finished by hand) or as rolled back (undone by hand).`;
    case "fix_and_apply":
      return `Fix ${remedy.migrationName}, then apply it again.`;
    case "wait_for_lock":
      return `Nothing in ${remedy.migrationName} needs fixing: another session held a lock it needed. End or wait for the session holding the lock (the failure names it), then apply ${remedy.migrationName} again; or, if writers to that table can queue behind it for longer, raise the lock timeout for this run.`;
    case "fix_file":
      return remedy.blocking
        ? `Fix or remove ${remedy.file}. Until it loads, applying all pending migrations, or up to any migration at or after it, is refused; applying up to an earlier one, rollbacks, listing and history go on.`
        : `Nothing is blocked; fix ${remedy.file} to clear the warning.`;
    case "check_name":
      return `Check ${remedy.migrationName} against the list of migrations (a name is the file name without .sql).`;
    case "name_history_table":
      return remedy.tool === "dbmate"
        ? "Name the table dbmate used (its migrations table setting), schema-qualified if it is not in the connection's current schema."
        : "The Supabase CLI records its history in supabase_migrations.schema_migrations; name the table if it is elsewhere.";
    case "name_applied_migration":
      return `${remedy.migrationName} is not applied: name an applied migration; everything applied after it is rolled back, and it stays applied.`;
    case "fewer_steps":
      return `Ask for at most ${remedy.applied} step${remedy.applied === 1 ? "" : "s"}: that many migrations are applied.`;
    case "refresh_and_retry":
      return "Look at the current state, then retry.";
    case "check_state_then_retry":
      return "The database did not answer: check the migration's state before retrying.";
  }
}

/** Every migration a remedy names, for a face that links or highlights them. */
export function remedyMigrationNames(remedy: Remedy): string[] {
  switch (remedy.kind) {
    case "restore_or_accept_checksum":
    case "allow_out_of_order":
      return remedy.migrationNames;
    case "apply_up_to":
      return [remedy.migrationName, remedy.lastPendingBefore];
    case "resolve":
    case "roll_back_first":
    case "mark_rolled_back":
    case "restore_file":
    case "fix_and_apply":
    case "wait_for_lock":
    case "check_name":
    case "name_applied_migration":
      return [remedy.migrationName];
    default:
      return [];
  }
}

/** SQLSTATE `lock_not_available`: a statement gave up on a lock (`lock_timeout`, or `NOWAIT`). */
export const LOCK_NOT_AVAILABLE = "55P03";

/**
 * How the executors' message for a lock given up on begins ("Waited 5.0 s for a lock (…) and gave
 * up: …", "Could not take a lock without waiting …"), and PostgreSQL's own messages for it.
 */
const LOCK_NOT_AVAILABLE_MESSAGE =
  /^(?:rollback )?(?:Waited [^:]*\bfor a lock\b|Could not take a lock without waiting\b)|\bcanceling statement due to lock timeout\b|^could not obtain lock on /;

/**
 * Whether a failure is a statement that gave up on a lock another session held (55P03) — by its
 * SQLSTATE; or, for a failure known only by its recorded message (SPEC §3's tracking tables keep
 * no SQLSTATE), by the words the executors and PostgreSQL (in English) put there. A failure whose
 * words are not recognised gets the general remedy, which still holds.
 */
export function isLockNotAvailable(failure: {
  code?: string | null | undefined;
  message: string | null;
}): boolean {
  if (failure.code === LOCK_NOT_AVAILABLE) return true;
  if (failure.code !== undefined && failure.code !== null) return false;
  return failure.message !== null && LOCK_NOT_AVAILABLE_MESSAGE.test(failure.message);
}

/**
 * The remedy for a migration that failed inside a transaction, leaving nothing behind: wait for
 * the lock it gave up on, or fix its SQL.
 */
export function failedInTransactionRemedy(
  migrationName: string,
  failure: { code?: string | null | undefined; message: string | null },
): Remedy {
  return isLockNotAvailable(failure)
    ? { kind: "wait_for_lock", migrationName }
    : { kind: "fix_and_apply", migrationName };
}

function listed(names: readonly string[]): string {
  return names.length <= 1
    ? (names[0] ?? "it")
    : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
}
