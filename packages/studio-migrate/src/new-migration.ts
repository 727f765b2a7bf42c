import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { migrationPrefix, parseMigration } from "@studio/migrations-core";
import { isValidMigrationName, MIGRATION_NAME_CHARACTERS } from "@studio/migrations-core/rules";
import { UsageError } from "./failures.ts";

/**
 * What `new` writes: both sections, empty, as dbmate's `new` does. Until its up section has SQL
 * the file is a no-op migration (SPEC §2): it loads, and an apply records it applied with nothing
 * run — after which SQL written into it never runs (the edit is checksum drift). `new` says so.
 */
export const NEW_MIGRATION_TEMPLATE = "-- migrate:up\n\n-- migrate:down\n";

export interface CreatedMigration {
  migrationName: string;
  path: string;
}

/**
 * Creates `<version>_<name>.sql` in `directory` (made if missing), numbered one past the highest
 * version there (001 in an empty directory) and zero-padded to the widest one (at least 3 digits).
 * Refuses, with a `UsageError`, a name that would not load or that is already taken.
 */
export function createMigrationFile(directory: string, name: string): CreatedMigration {
  // What follows the number must make a migration name of it (SPEC §2, the core's rule).
  if (name === "" || !isValidMigrationName(`1_${name}`)) {
    throw new UsageError(
      `"${name}" cannot follow a migration's number: use ${MIGRATION_NAME_CHARACTERS}, e.g. add_billing_plans.`,
      "new",
    );
  }
  // A whole migration name given (`009_x`, dbmate's `20240101120000_create-x`): new numbers it.
  if (/^[0-9]{3,}[_-]/.test(name)) {
    throw new UsageError(
      `Give the name without a number ("${name.replace(/^[0-9]+[_-]/, "")}"): new picks the next one.`,
      "new",
    );
  }

  let entries: string[] = [];
  try {
    entries = readdirSync(directory);
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ENOENT") throw error;
  }
  // An empty directory starts at 001: 000 is, by convention, the tracking tables' own.
  let highest = 0n;
  let width = 3;
  for (const entry of entries) {
    // Every migration file counts, dbmate's `-` and bare-version names too.
    if (!entry.endsWith(".sql")) continue;
    const stem = entry.slice(0, -".sql".length);
    const prefix = migrationPrefix(stem);
    if (prefix === null) continue;
    const rest = stem.slice(prefix.length + 1);
    // Prefixes can be timestamps, longer than a double holds exactly.
    const value = BigInt(prefix);
    if (value > highest) highest = value;
    width = Math.max(width, prefix.length);
    if (rest === name) {
      throw new UsageError(
        `A migration named ${name} already exists: ${join(directory, entry)}. Pick another name.`,
        "new",
      );
    }
  }
  const next = (highest + 1n).toString().padStart(width, "0");
  const migrationName = `${next}_${name}`;
  const path = join(directory, `${migrationName}.sql`);

  // Check the file the way the engine will load it: the name, and the template (a no-op).
  const check = parseMigration(migrationName, NEW_MIGRATION_TEMPLATE, path);
  if (!check.ok) {
    throw new UsageError(`${migrationName}.sql would not load: ${check.problem.message}`, "new");
  }

  mkdirSync(directory, { recursive: true });
  try {
    // "wx": never overwrite a migration, even one created between the listing and now.
    writeFileSync(path, NEW_MIGRATION_TEMPLATE, { flag: "wx" });
  } catch (error) {
    if ((error as { code?: unknown }).code === "EEXIST") {
      throw new UsageError(`${path} already exists.`, "new");
    }
    throw error;
  }
  return { migrationName, path };
}
