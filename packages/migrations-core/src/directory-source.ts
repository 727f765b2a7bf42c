import { type Dirent, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { isAbsolute, join, relative, sep } from "node:path";
import type { MigrationFileProblem } from "./errors.ts";
import { isMigrationFileName, migrationPrefix } from "./migration.ts";
import { MIGRATION_NAME_RULE } from "./rules.ts";
import { loadMigrationTexts, type MigrationSource, type MigrationText } from "./sources.ts";

// The byte-order mark is kept for the parser to refuse, as dbmate does.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Migrations from the `.sql` files of one directory (SPEC §2). The only module of the core that
 * touches the file system.
 *
 * Only entries directly in the directory are read (it is not walked); an entry that is a
 * directory is ignored, whatever its name. A symbolic link is followed only to a file inside the
 * directory: one that leads outside it (or nowhere) is an error naming it. A `.sql` file whose
 * name is not a migration name is ignored with a warning (a typo that keeps a migration from ever
 * running should be visible, but blocks nothing); other files are ignored silently.
 *
 * Files are read synchronously: for a directory of small files this is several times faster than
 * awaiting each read, and it is what a no-op deploy pays for.
 */
export function directorySource(directory: string): MigrationSource {
  return {
    load: async () => {
      const problems: MigrationFileProblem[] = [];
      let entries: Dirent[];
      let inside: string;
      try {
        entries = readdirSync(directory, { withFileTypes: true });
        inside = realpathSync(directory);
      } catch (error) {
        problems.push(
          problemOf(directory, null, "error", `cannot read directory: ${describe(error)}`),
        );
        return { migrations: [], problems };
      }
      const texts: (MigrationText & { source: string })[] = [];
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const entry of entries) {
        const fileName = entry.name;
        if (!fileName.endsWith(".sql") || entry.isDirectory()) continue;
        const path = join(directory, fileName);
        const stem = fileName.slice(0, -".sql".length);
        if (!isMigrationFileName(fileName)) {
          problems.push(
            problemOf(
              path,
              null,
              "warning",
              `ignored: "${fileName}" is not a migration file name (${MIGRATION_NAME_RULE}, then .sql)`,
            ),
          );
          continue;
        }
        const error = (message: string) => problems.push(problemOf(path, stem, "error", message));
        if (entry.isSymbolicLink()) {
          let target: string;
          try {
            target = realpathSync(path);
          } catch (cause) {
            error(`is a symbolic link that leads nowhere: ${describe(cause)}`);
            continue;
          }
          if (!isInside(inside, target)) {
            error(
              `is a symbolic link to ${target}, outside the migrations directory: only files inside it are read`,
            );
            continue;
          }
          let kind: "directory" | "file" | "other";
          try {
            const stats = statSync(target);
            kind = stats.isDirectory() ? "directory" : stats.isFile() ? "file" : "other";
          } catch (cause) {
            error(`cannot read file: ${describe(cause)}`);
            continue;
          }
          if (kind === "directory") continue;
          if (kind === "other") {
            error(`is a symbolic link to ${target}, which is not a regular file`);
            continue;
          }
        } else if (!entry.isFile()) {
          // A FIFO or a socket: reading it could block the load for ever.
          error("is not a regular file");
          continue;
        }
        let sql: string;
        try {
          sql = utf8.decode(readFileSync(path));
        } catch (cause) {
          error(
            cause instanceof TypeError
              ? "is not UTF-8 text"
              : `cannot read file: ${describe(cause)}`,
          );
          continue;
        }
        texts.push({ name: stem, sql, source: path });
      }
      return loadMigrationTexts(texts, problems);
    },
  };
}

function problemOf(
  file: string,
  stem: string | null,
  severity: MigrationFileProblem["severity"],
  message: string,
): MigrationFileProblem {
  const version = stem === null ? null : migrationPrefix(stem);
  return {
    file,
    line: null,
    message,
    severity,
    version,
    migrationName: version === null ? null : stem,
  };
}

/** Whether `path` (resolved) is inside the directory `root` (resolved), at any depth. */
function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== "" && rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

function describe(error: unknown): string {
  if (error instanceof Error && "code" in error && typeof error.code === "string") {
    return `${error.code}: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}
