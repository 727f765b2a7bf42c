import type { MigrationFileProblem } from "./errors.ts";
import { type Migration, migrationSortKey, significantDigits } from "./migration.ts";
import { parseMigration } from "./parse-migration.ts";

/**
 * What a source yields: the migrations that loaded, in order, and the problems found: an `error`
 * for each file that did not load, a `warning` for what blocks nothing (an ignored marker option,
 * an ignored misnamed `.sql` file). A bad file does not hide the good ones, so `list` keeps working
 * and shows the problem; an error blocks only the applies that would have to pass the file.
 */
export interface LoadedMigrations {
  readonly migrations: readonly Migration[];
  readonly problems: readonly MigrationFileProblem[];
}

/** Where migrations come from. Called afresh for every operation, so edits on disk are seen. */
export interface MigrationSource {
  load(): Promise<LoadedMigrations>;
}

/** One migration given in memory: its name (the file stem) and its text in dbmate's format. */
export interface MigrationText {
  name: string;
  sql: string;
}

/** Parses, orders and checks a set of migration texts. */
export function loadMigrationTexts(
  texts: readonly (MigrationText & { source?: string })[],
  problems: MigrationFileProblem[] = [],
): LoadedMigrations {
  // Every file with a version, loaded or not: a broken file still takes its version, so that a
  // good file beside it with the same version is not silently the one that runs.
  const versioned: {
    name: string;
    source: string;
    version: string;
    key: string;
    migration: Migration | null;
  }[] = [];
  for (const text of texts) {
    const source = text.source ?? `memory:${text.name}`;
    const result = parseMigration(text.name, text.sql, source);
    problems.push(...result.warnings);
    if (!result.ok) problems.push(result.problem);
    const version = result.ok ? result.migration.prefix : result.problem.version;
    if (version === null) continue;
    versioned.push({
      name: text.name,
      source,
      version,
      key: migrationSortKey(text.name),
      migration: result.ok ? result.migration : null,
    });
  }
  // Sorted by a key computed once per file (a directory of thousands sorts without a regex per
  // comparison); the order is that of the numeric version, then the name.
  versioned.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  // Two files with one version are an error, not a silent pick: neither is loaded.
  const migrations: Migration[] = [];
  for (let i = 0; i < versioned.length; ) {
    const digits = significantDigits(versioned[i]?.version as string);
    let j = i + 1;
    while (j < versioned.length && significantDigits(versioned[j]?.version as string) === digits) {
      j++;
    }
    const group = versioned.slice(i, j);
    if (group.length === 1) {
      const only = group[0]?.migration;
      if (only) migrations.push(only);
    } else {
      for (const file of group) {
        problems.push({
          file: file.source,
          line: null,
          message: `duplicate version ${file.version}: also used by ${group
            .filter((other) => other !== file)
            .map((other) => other.source)
            .join(", ")}`,
          severity: "error",
          version: file.version,
          migrationName: file.name,
        });
      }
    }
    i = j;
  }
  return { migrations, problems };
}

/** A source over a fixed list, for tests and embedding. */
export function memorySource(texts: readonly MigrationText[]): MigrationSource {
  return { load: async () => loadMigrationTexts(texts) };
}
