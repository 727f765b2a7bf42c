/** One migration, as loaded from a file or an in-memory list. */
export interface Migration {
  /** The file stem, e.g. `008_add_active_org_tracking`. */
  readonly name: string;
  /** The numeric prefix, as written (`008`). Order is by its numeric value. */
  readonly prefix: string;
  readonly up: string;
  /** `null` when the file has no (or an empty) down section. */
  readonly down: string | null;
  /** `false` for `-- migrate:up transaction:false`. */
  readonly transactional: boolean;
  /** `false` for `-- migrate:down transaction:false` (dbmate sets it per section). */
  readonly downTransactional: boolean;
  /** SHA-256 (hex) of the up section, line endings normalised. */
  readonly checksum: string;
  /** Where it came from, for messages (a path, or `memory:<name>`). */
  readonly source: string;
}

const NAME = /^([0-9]{3,})_[a-z0-9_]+$/;
const FILE_NAME = /^[0-9]{3,}_[a-z0-9_]+\.sql$/;

/** The migration name rule of SPEC §2 (a file stem). */
export function isValidMigrationName(name: string): boolean {
  return NAME.test(name);
}

export function isMigrationFileName(fileName: string): boolean {
  return FILE_NAME.test(fileName);
}

/** The numeric prefix of a valid name, or `null`. */
export function migrationPrefix(name: string): string | null {
  return NAME.exec(name)?.[1] ?? null;
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
