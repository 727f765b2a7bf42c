import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseMigration } from "@studio/migrations-core";
import { UsageError } from "./failures.ts";

/** What `new` writes: both sections, empty. The file does not load until its up section has SQL. */
export const NEW_MIGRATION_TEMPLATE = "-- migrate:up\n\n-- migrate:down\n";

const SNAKE_CASE = /^[a-z0-9_]+$/;
const NUMBERED = /^([0-9]+)_(.*)\.sql$/;

export interface CreatedMigration {
  migrationName: string;
  path: string;
}

/**
 * Creates `NNN_<name>.sql` in `directory` (made if missing), numbered one past the highest prefix
 * there (001 in an empty directory) and zero-padded to the widest one (at least 3 digits). Refuses, with a `UsageError`, a
 * name that would not load or that is already taken.
 */
export function createMigrationFile(directory: string, name: string): CreatedMigration {
  if (!SNAKE_CASE.test(name)) {
    throw new UsageError(
      `"${name}" is not a snake_case name: use a-z, 0-9 and _ only, e.g. add_billing_plans.`,
      "new",
    );
  }
  if (/^[0-9]{3,}_/.test(name)) {
    throw new UsageError(
      `Give the name without a number ("${name.replace(/^[0-9]+_/, "")}"): new picks the next one.`,
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
    const match = NUMBERED.exec(entry);
    if (!match) continue;
    const [, prefix = "", rest] = match;
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

  // Check the name the way the engine will load it, with a stand-in statement for the empty up.
  const check = parseMigration(migrationName, "-- migrate:up\nselect 1;\n", path);
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
