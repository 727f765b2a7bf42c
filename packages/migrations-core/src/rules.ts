/**
 * The input rules that every face checks before anything reaches the engine — tRPC's zod inputs,
 * Studio's REST bodies, sign-in and `x-migration-actor` header, the CLI's argv — stated once.
 *
 * This module imports nothing, so a face can load it alone (`@studio/migrations-core/rules`):
 * the CLI parses argv, and talks to Studio in URL mode, without loading the rest of the core, and
 * Studio's sign-in form can use it in the browser.
 */

/** The longest migration name (file stem) accepted (SPEC §2). */
export const MAX_MIGRATION_NAME_LENGTH = 200;

/**
 * SPEC §2's name rule, whole: a migration name (a file stem) is leading digits — its version —
 * then optionally `_` or `-` and letters of either case, digits, `_`, `-` and `.`; at most
 * {@link MAX_MIGRATION_NAME_LENGTH} characters, and no `..`. dbmate's own `new` output
 * (`20240101120000_create-users-table`) is one, and so is a bare version (`20240101120000`).
 *
 * The one statement of the rule: zod schemas, argv parsing and the loader all use this (or
 * {@link isValidMigrationName}). The first group is the version.
 */
export const MIGRATION_NAME_PATTERN = new RegExp(
  `^(?=.{1,${MAX_MIGRATION_NAME_LENGTH}}$)(?!.*\\.\\.)([0-9]+)(?:[_-][A-Za-z0-9_.-]*)?$`,
);

/** What may follow a migration's version and its `_` or `-`, in words. */
export const MIGRATION_NAME_CHARACTERS = "letters, digits, _, - or . (no ..)";

/** The rule in words, for messages that refuse a name. */
export const MIGRATION_NAME_RULE = `digits (the version), then optionally _ or - and ${MIGRATION_NAME_CHARACTERS}, at most ${MAX_MIGRATION_NAME_LENGTH} characters, e.g. 008_add_active_org_tracking`;

/** The migration name rule of SPEC §2 (a file stem). */
export function isValidMigrationName(name: string): boolean {
  return MIGRATION_NAME_PATTERN.test(name);
}

/** The longest actor accepted (`applied_by`, the audit trail's `actor`). */
export const MAX_ACTOR_LENGTH = 200;

/** The actor rule in words, for messages that refuse one. */
export const ACTOR_RULE = `one printable line of at most ${MAX_ACTOR_LENGTH} characters`;

/**
 * Who made a change (SPEC §6): a browser session's name, `x-migration-actor`, the CLI's `--actor`
 * or `cli:<user>@<host>`. Not blank, one line with no control characters (it is printed in logs,
 * tables and terminals), at most {@link MAX_ACTOR_LENGTH} characters.
 */
export function isValidActor(actor: string): boolean {
  return (
    actor.trim() !== "" &&
    actor.length <= MAX_ACTOR_LENGTH &&
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
    !/[\u0000-\u001f\u007f]/.test(actor)
  );
}

/** `history`'s page size when none is given. */
export const DEFAULT_HISTORY_LIMIT = 50;
/** `history`'s largest page. */
export const MAX_HISTORY_LIMIT = 500;

/** A `history` page size: a whole number from 1 to {@link MAX_HISTORY_LIMIT}. */
export function isValidHistoryLimit(limit: number): boolean {
  return Number.isInteger(limit) && limit >= 1 && limit <= MAX_HISTORY_LIMIT;
}

/**
 * A `history` cursor's shape: a previous page's `nextCursor`, an event id — a positive `bigint`,
 * written without leading zeros. {@link isValidHistoryCursor} also holds it to the column's range.
 */
export const HISTORY_CURSOR_PATTERN = /^[1-9][0-9]{0,18}$/;

/** The largest event id, and so the largest cursor: PostgreSQL's `bigint` maximum, 2^63 − 1. */
export const MAX_HISTORY_CURSOR = "9223372036854775807";

/** The cursor rule in words, for messages that refuse one. */
export const HISTORY_CURSOR_RULE = `a nextCursor from a previous page: a whole number from 1 to ${MAX_HISTORY_CURSOR}`;

/**
 * A `history` cursor: a positive whole number no larger than {@link MAX_HISTORY_CURSOR}. Anything
 * else is refused before it reaches the database (a larger one would make the query fail).
 */
export function isValidHistoryCursor(cursor: string): boolean {
  return (
    HISTORY_CURSOR_PATTERN.test(cursor) &&
    (cursor.length < MAX_HISTORY_CURSOR.length || cursor <= MAX_HISTORY_CURSOR)
  );
}

/**
 * `--lock-timeout` / `lockTimeoutMs`: how long each statement of a migration may wait for a lock,
 * in ms. At most 10 minutes: a statement waiting for a lock queues every later query on that
 * table behind it, so a longer wait is an outage, not a migration.
 */
export const MAX_LOCK_TIMEOUT_MS = 600_000;
/** `--statement-timeout` / `statementTimeoutMs`: how long each statement may run, in ms; 24 h at most. */
export const MAX_STATEMENT_TIMEOUT_MS = 86_400_000;

/** A lock timeout: a whole number of ms from 1 to {@link MAX_LOCK_TIMEOUT_MS}. */
export function isValidLockTimeoutMs(ms: number): boolean {
  return Number.isInteger(ms) && ms >= 1 && ms <= MAX_LOCK_TIMEOUT_MS;
}

/** A statement timeout: a whole number of ms from 1 to {@link MAX_STATEMENT_TIMEOUT_MS}. */
export function isValidStatementTimeoutMs(ms: number): boolean {
  return Number.isInteger(ms) && ms >= 1 && ms <= MAX_STATEMENT_TIMEOUT_MS;
}

/** The tools whose history `adopt` reads (SPEC §4 *Adopt*). */
export const FOREIGN_TOOLS = ["dbmate", "supabase"] as const;
export type ForeignTool = (typeof FOREIGN_TOOLS)[number];

/** One identifier part: what Postgres takes unquoted, at most 63 characters (its NAMEDATALEN). */
const PART = "[A-Za-z_][A-Za-z0-9_$]{0,62}";
/** `adopt --table`: `table` or `schema.table`; anything else (quotes, spaces, a third part) is refused. */
export const FOREIGN_TABLE_NAME = new RegExp(`^${PART}(?:\\.${PART})?$`);

/** The table rule in words. */
export const FOREIGN_TABLE_RULE =
  "letters, digits, _ and $ (not starting with a digit), at most 63 characters, optionally schema-qualified as schema.table";
