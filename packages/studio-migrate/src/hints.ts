import type { Problem } from "@studio/migrations-core";
import { isValidMigrationName } from "@studio/migrations-core/rules";

/**
 * The core's hints name API options (`upTo`, `markOnly`, `accept_checksum`); an operator at a
 * terminal needs the command to type. Codes and problem kinds are stable, so the translation keys
 * on them, and falls back to the core's own hint for anything it does not know.
 */

/**
 * A run of the characters a migration name is made of (SPEC §2), starting with its version and
 * not in the middle of a word; each is then held to the core's rule, `isValidMigrationName`.
 */
const CANDIDATE = /(?<![A-Za-z0-9_.-])[0-9]+(?:[_-][A-Za-z0-9_.-]*)?/g;

/**
 * Migration names mentioned in a message, in order, without repeats: any name the loader takes,
 * dbmate's `20240101120000_create-users-table` and bare versions included. A name may hold `.`,
 * so one `.` ending a candidate is taken for the sentence's full stop (a name that itself ends
 * in `.` is found only when a full stop follows it).
 */
export function namesIn(text: string): string[] {
  const names: string[] = [];
  for (const [candidate] of text.matchAll(CANDIDATE)) {
    const name = candidate.endsWith(".") ? candidate.slice(0, -1) : candidate;
    if (isValidMigrationName(name)) names.push(name);
  }
  return [...new Set(names)];
}

function resolveCommand(name: string): string {
  return `\`studio-migrate resolve ${name} --applied\` if it was finished by hand, or \`studio-migrate resolve ${name} --rolled-back\` if it was undone by hand (to run it again)`;
}

function acceptCommand(names: readonly string[]): string {
  return names.length <= 1
    ? `\`studio-migrate resolve ${names[0] ?? "<name>"} --accept-checksum\``
    : `\`studio-migrate resolve <name> --accept-checksum\` for each of ${names.join(", ")}`;
}

/** The hint for an error code, in CLI terms. */
export function hintFor(
  code: string,
  message: string,
  migrationName: string | null,
  coreHint: string | null,
): string | null {
  const names = namesIn(message);
  const name = migrationName ?? names[0] ?? "<name>";
  switch (code) {
    case "EARLIER_PENDING":
      return `Apply everything up to it: \`studio-migrate apply --to ${name}\`. If the earlier ones were applied by hand, record them first: \`studio-migrate baseline --to <the last of them>\`.`;
    case "OUT_OF_ORDER":
      return "If running it now is safe, apply again with --allow-out-of-order; otherwise renumber the file after the newest migration.";
    case "CHECKSUM_DRIFT":
      return `Restore the original file, or, if the edit is cosmetic, accept it: ${acceptCommand(
        // The drift message names only the drifted migrations.
        migrationName === null ? names : [migrationName],
      )}.`;
    case "MIGRATION_BLOCKED":
      return `Inspect the database, then: ${resolveCommand(name)}.`;
    case "NO_DOWN_MIGRATION":
      // A run (--to / --steps) refused because one of its migrations has no down section.
      if (message.includes(" is among them ")) {
        return `Roll back what was applied after it first: \`studio-migrate rollback --to ${name}\`; then undo ${name} by hand and record that: \`studio-migrate rollback ${name} --mark-only\`. If every migration of the run was undone by hand, run it again with --mark-only.`;
      }
      return `Undo it by hand if needed, then record that: \`studio-migrate rollback ${name} --mark-only\`.`;
    case "MIGRATION_NOT_FOUND":
      return "Check the name against `studio-migrate status` (a name is the file name without .sql).";
    default:
      return coreHint === null ? null : cliWording(coreHint);
  }
}

/** The hint for a problem `status` reports, in CLI terms. */
export function problemHint(problem: Problem): string {
  const name = problem.migrationName ?? "<name>";
  switch (problem.kind) {
    case "drift":
      return `Restore the original file, or, if the edit is cosmetic, accept it: ${acceptCommand([name])}.`;
    case "interrupted":
    case "failed":
      if (!problem.blocking) return "Fix the migration, then apply it again.";
      // A down section that ran outside a transaction and did not finish.
      if (problem.message.startsWith(`${name}'s rollback `)) {
        return `Inspect the database, then: \`studio-migrate resolve ${name} --rolled-back\` if you finished its down section by hand, or \`studio-migrate resolve ${name} --applied\` if you undid what of it ran (the migration stays applied).`;
      }
      return `Inspect the database, then: ${resolveCommand(name)}.`;
    case "missing":
      return `Restore the file (is this an older build?), or if it was undone by hand: \`studio-migrate rollback ${name} --mark-only\`.`;
    case "out_of_order":
      return "If running it now is safe: `studio-migrate apply --allow-out-of-order`; otherwise renumber it after the newest migration.";
    default:
      return cliWording(problem.hint);
  }
}

function cliWording(hint: string): string {
  return hint
    .replace(/\bwith markOnly\b|\bmarkOnly\b/g, "with --mark-only")
    .replace(/\ballowOutOfOrder\b/g, "--allow-out-of-order")
    .replace(/\bupTo\b/g, "--to")
    .replace(/\(accept_checksum\)|\baccept_checksum\b/g, "--accept-checksum");
}
