import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { MigrationFileProblem } from "./errors.ts";
import { isMigrationFileName } from "./migration.ts";
import { loadMigrationTexts, type MigrationSource, type MigrationText } from "./sources.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Migrations from the `.sql` files of one directory (not its subdirectories). The only module of
 * the core that touches the file system.
 *
 * Every `.sql` file is considered: one whose name breaks the naming rule is reported as a problem
 * rather than ignored, since a misnamed migration silently never running is worse than a refusal.
 * Files are read synchronously: for a directory of small files this is several times faster than
 * awaiting each read, and it is what a no-op deploy pays for.
 */
export function directorySource(directory: string): MigrationSource {
  return {
    load: async () => {
      const problems: MigrationFileProblem[] = [];
      let entries: string[];
      try {
        entries = readdirSync(directory);
      } catch (error) {
        problems.push({
          file: directory,
          line: null,
          message: `cannot read directory: ${describe(error)}`,
        });
        return { migrations: [], problems };
      }
      const texts: (MigrationText & { source: string })[] = [];
      for (const entry of entries.sort()) {
        if (!entry.endsWith(".sql")) continue;
        const path = join(directory, entry);
        if (!isMigrationFileName(entry)) {
          problems.push({
            file: path,
            line: null,
            message:
              "file name does not match NNN_snake_case_name.sql (digits, an underscore, then a-z, 0-9 and _)",
          });
          continue;
        }
        let sql: string;
        try {
          sql = utf8.decode(readFileSync(path));
        } catch (error) {
          problems.push({
            file: path,
            line: null,
            message:
              error instanceof TypeError
                ? "is not UTF-8 text"
                : `cannot read file: ${describe(error)}`,
          });
          continue;
        }
        texts.push({ name: entry.slice(0, -".sql".length), sql, source: path });
      }
      return loadMigrationTexts(texts, problems);
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof Error && "code" in error && typeof error.code === "string") {
    return `${error.code}: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}
