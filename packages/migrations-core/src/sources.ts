import type { MigrationFileProblem } from "./errors.ts";
import { type Migration, migrationSortKey, significantDigits } from "./migration.ts";
import { parseMigration } from "./parse-migration.ts";

/**
 * What a source yields: the migrations that loaded, in order, and a problem for each file that
 * did not. A bad file does not hide the good ones, so `list` keeps working and shows the problem;
 * runs that change anything refuse until it is fixed.
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
  const parsed: Migration[] = [];
  for (const text of texts) {
    const result = parseMigration(text.name, text.sql, text.source ?? `memory:${text.name}`);
    if (result.ok) parsed.push(result.migration);
    else problems.push(result.problem);
  }
  // Sorted by a key computed once per file (a directory of thousands sorts without a regex per
  // comparison); the order is that of the numeric prefix, then the name.
  const keyed = parsed.map((migration) => ({
    migration,
    key: migrationSortKey(migration.name),
    digits: significantDigits(migration.prefix),
  }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const sorted = keyed.map((k) => k.migration);

  // Two files with one prefix are an error, not a silent pick: neither is loaded.
  const migrations: Migration[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i + 1;
    while (j < keyed.length && keyed[j]?.digits === keyed[i]?.digits) j++;
    const group = sorted.slice(i, j);
    if (group.length === 1) migrations.push(group[0] as Migration);
    else {
      for (const m of group) {
        problems.push({
          file: m.source,
          line: null,
          message: `duplicate prefix ${m.prefix}: also used by ${group
            .filter((other) => other !== m)
            .map((other) => other.source)
            .join(", ")}`,
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
