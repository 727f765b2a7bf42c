import { isValidMigrationName, MIGRATION_NAME_PATTERN } from "./rules.ts";

/** One migration, as loaded from a file or an in-memory list. */
export interface Migration {
  /** The file stem, e.g. `008_add_active_org_tracking` or `20240101120000_create-users-table`. */
  readonly name: string;
  /** The version: the name's leading digits, as written (`008`). Order is by its numeric value. */
  readonly prefix: string;
  /**
   * The up section exactly as the file has it (CRLF line endings kept): the text after the
   * `-- migrate:up` line (or from the top of a file without markers) up to the line break before
   * `-- migrate:down`, markers excluded.
   *
   * It may hold no statement at all (only comments and whitespace): a no-op migration, which
   * applies like any other (recorded `applied`) with nothing run. Executors must cope with that —
   * `splitSqlStatements(up)` is then `[]`, and a driver may refuse an empty query string.
   */
  readonly up: string;
  /**
   * The 1-based line of the file on which the up section starts: the line after `-- migrate:up`,
   * or 1 in a file without markers. A line of the up section plus `upLine - 1` is the file's.
   */
  readonly upLine: number;
  /** The down section exactly as written; `null` when the file has no (or an empty) down section. */
  readonly down: string | null;
  /** `false` for `-- migrate:up transaction:false`. */
  readonly transactional: boolean;
  /** `false` for `-- migrate:down transaction:false` (dbmate sets it per section). */
  readonly downTransactional: boolean;
  /** SHA-256 (hex) of the up section with line endings normalised to `\n` (CRLF↔LF is no drift). */
  readonly checksum: string;
  /** Where it came from, for messages (a path, or `memory:<name>`). */
  readonly source: string;
}

/** Whether a file name is a migration's: a valid name followed by `.sql`. */
export function isMigrationFileName(fileName: string): boolean {
  return fileName.endsWith(".sql") && isValidMigrationName(fileName.slice(0, -".sql".length));
}

/** The version (the leading digits, as written) of a valid name, or `null`. */
export function migrationPrefix(name: string): string | null {
  return MIGRATION_NAME_PATTERN.exec(name)?.[1] ?? null;
}

/**
 * Orders prefixes by numeric value. Prefixes can be long timestamps, so compare digit strings
 * rather than converting to numbers.
 */
export function comparePrefixes(a: string, b: string): number {
  const x = significantDigits(a);
  const y = significantDigits(b);
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Orders migration names by prefix, then by name (only invalid inputs can tie on prefix). */
export function compareMigrationNames(a: string, b: string): number {
  const pa = migrationPrefix(a);
  const pb = migrationPrefix(b);
  if (pa !== null && pb !== null) {
    const byPrefix = comparePrefixes(pa, pb);
    if (byPrefix !== 0) return byPrefix;
  } else if (pa !== null || pb !== null) {
    return pa === null ? 1 : -1;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A prefix without its leading zeros: `007` and `7` are one prefix. */
export function significantDigits(prefix: string): string {
  return prefix.replace(/^0+(?=\d)/, "");
}

/**
 * A string that sorts, by plain comparison, exactly as {@link compareMigrationNames} orders the
 * names: compute it once per name to sort thousands of names without a regex per comparison.
 */
export function migrationSortKey(name: string): string {
  const prefix = migrationPrefix(name);
  if (prefix === null) return `1${name}`;
  const digits = significantDigits(prefix);
  return `0${String(digits.length).padStart(9, "0")}:${digits}:${name}`;
}
