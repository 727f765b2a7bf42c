import type { Problem, Remedy } from "@studio/migrations-core";

/**
 * The core says what can be done as a `Remedy` (data); at a terminal that is a command to type.
 * Every command suggested here can be pasted as it is: it carries the target flags of the run
 * that failed (`target`, from {@link pasteTarget}), so it reaches the same Studio or database.
 */

/**
 * The flags a pasted command needs to reach the same target, with a leading space, or `""` when
 * the environment already points there. Credentials stay out: `--secret` is never repeated
 * (MIGRATION_SECRET is how a pipeline passes it), and a database URL loses its password (libpq's
 * PGPASSWORD or ~/.pgpass supply it).
 */
export function pasteTarget(flags: {
  url: string | null;
  databaseUrl: string | null;
  migrationsDir: string | null;
  actor: string | null;
}): string {
  const parts: string[] = [];
  if (flags.url !== null) parts.push("--url", shellWord(withoutCredentials(flags.url, true)));
  if (flags.databaseUrl !== null) {
    parts.push("--database-url", shellWord(withoutCredentials(flags.databaseUrl, false)));
  }
  if (flags.migrationsDir !== null) parts.push("--migrations-dir", shellWord(flags.migrationsDir));
  if (flags.actor !== null) parts.push("--actor", shellWord(flags.actor));
  return parts.length === 0 ? "" : ` ${parts.join(" ")}`;
}

/** The remedy as what to type, each command pasteable with `target` (see {@link pasteTarget}). */
export function remedyHint(remedy: Remedy, target: string): string {
  const run = (args: string) => `\`studio-migrate ${args}${target}\``;
  switch (remedy.kind) {
    case "wait_for_other_run":
      return `Wait for the other run to finish, then retry; see what runs with ${run("status")}.`;
    case "resolve": {
      const { migrationName: name } = remedy;
      return remedy.attempt === "apply"
        ? `Inspect the database, then: ${run(`resolve ${shellWord(name)} --applied`)} if it was finished by hand, or ${run(`resolve ${shellWord(name)} --rolled-back`)} if it was undone by hand (to run it again).`
        : `Inspect the database, then: ${run(`resolve ${shellWord(name)} --rolled-back`)} if you finished its down section by hand, or ${run(`resolve ${shellWord(name)} --applied`)} if you undid what of it ran (the migration stays applied).`;
    }
    case "restore_or_accept_checksum":
      return `Restore the original file${remedy.migrationNames.length > 1 ? "s" : ""}, or, if the edit is cosmetic, accept it: ${remedy.migrationNames
        .map((name) => run(`resolve ${shellWord(name)} --accept-checksum`))
        .join(", ")}.`;
    case "allow_out_of_order":
      return `If running it now is safe: ${run("apply --allow-out-of-order")}; otherwise renumber the file after the newest migration.`;
    case "apply_up_to":
      return `Apply everything up to it: ${run(`apply --to ${shellWord(remedy.migrationName)}`)}. If the earlier ones were applied by hand, record them first: ${run(`baseline --to ${shellWord(remedy.lastPendingBefore)}`)}.`;
    case "roll_back_first":
      return `Roll back ${remedy.migrationName} first: ${run(`rollback ${shellWord(remedy.migrationName)}`)}.`;
    case "mark_rolled_back": {
      const name = shellWord(remedy.migrationName);
      return remedy.inRun
        ? `Roll back what was applied after it first: ${run(`rollback --to ${name}`)}; then undo ${remedy.migrationName} by hand and record that: ${run(`rollback ${name} --mark-only`)}. If every migration of the run was undone by hand, run it again with --mark-only.`
        : `Undo it by hand if needed, then record that: ${run(`rollback ${name} --mark-only`)}.`;
    }
    case "restore_file":
      return remedy.recorded === "applied"
        ? `Restore the file (is this an older build?), or if it was undone by hand: ${run(`rollback ${shellWord(remedy.migrationName)} --mark-only`)}.`
        : `Restore the file (is this an older build?), or if it is gone for good: inspect the database, then ${run(`resolve ${shellWord(remedy.migrationName)} --applied`)} (finished by hand) or ${run(`resolve ${shellWord(remedy.migrationName)} --rolled-back`)} (undone by hand).`;
    case "fix_and_apply":
      return `Fix the migration, then apply it again: ${run(`apply ${shellWord(remedy.migrationName)}`)}.`;
    case "wait_for_lock": {
      const name = shellWord(remedy.migrationName);
      // A longer wait queues every writer of that table behind the migration for as long: the
      // operator's call, so it comes second, with a figure to change.
      return `Its SQL needs no fix: another session held a lock it needed (the failure names that session). End the session or wait for it to finish, then apply again: ${run(`apply ${name}`)}; or, if writers to that table can queue behind the migration for longer, let it wait longer for this run (ms): ${run(`apply ${name} --lock-timeout 30000`)}.`;
    }
    case "fix_file":
      return remedy.blocking
        ? `Fix or remove ${remedy.file}. Until it loads, only applies up to an earlier migration run (${run("apply --to <name>")}); status, history and rollbacks go on.`
        : `Nothing is blocked; fix ${remedy.file} to clear the warning.`;
    case "check_name":
      return `Check the name against ${run("status")} (a name is the file name without .sql).`;
    case "name_history_table":
      return remedy.tool === "dbmate"
        ? "Name the table dbmate used with --table (dbmate's --migrations-table), schema-qualified if it is not in the connection's current schema."
        : "The Supabase CLI records its history in supabase_migrations.schema_migrations; name another table with --table.";
    case "name_applied_migration":
      return `${remedy.migrationName} is not applied: name an applied migration (see ${run("status")}); everything applied after it is rolled back, and it stays applied.`;
    case "fewer_steps":
      return `Ask for at most ${remedy.applied}: ${run(`rollback --steps ${remedy.applied}`)} rolls back everything applied.`;
    case "refresh_and_retry":
      return `Look at the current state (${run("status")}), then retry.`;
    case "check_state_then_retry":
      return `The database did not answer: check the migration's state with ${run("status")} before retrying.`;
  }
}

/** The hint for a refusal: its remedy as a command, else the core's own words. */
export function hintFor(
  remedy: Remedy | null,
  coreHint: string | null,
  target: string,
): string | null {
  return remedy === null ? coreHint : remedyHint(remedy, target);
}

/** The hint for a problem `status` reports. */
export function problemHint(problem: Pick<Problem, "remedy">, target: string): string {
  return remedyHint(problem.remedy, target);
}

/** A word for a POSIX shell: as is when it is safe, else single-quoted. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

function withoutCredentials(raw: string, dropUser: boolean): string {
  try {
    const url = new URL(raw);
    if (url.password === "" && (!dropUser || url.username === "")) return raw;
    url.password = "";
    if (dropUser) url.username = "";
    return url.toString();
  } catch {
    return raw;
  }
}
