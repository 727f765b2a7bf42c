import type { LintLevel, TableLockMode } from "@studio/migrations-core";

export type { LintLevel };

/** A rule: what it catches, at which level, the lock involved, why it matters and the safe way. */
export interface LintRule {
  /** Stable: what `-- lint:ignore` names, and what faces and scripts key on. */
  readonly id: LintRuleId;
  readonly level: LintLevel;
  /**
   * The lock the flagged statement takes on the table (a finding states its own); `varies` when
   * the statement says (LOCK TABLE) or the rule is about any statement (lock-wait); null when the
   * rule is not about a lock.
   */
  readonly lock: TableLockMode | "varies" | null;
  /** What is flagged, in a few words. */
  readonly title: string;
  /** Why it is risky on a live database. */
  readonly why: string;
  /** The safe way to do it. */
  readonly fix: string;
}

const rules = [
  {
    id: "index-not-concurrent",
    level: "error",
    lock: "SHARE",
    title: "CREATE INDEX without CONCURRENTLY on an existing table",
    why: "the table is locked SHARE for the whole build: every INSERT, UPDATE and DELETE waits until the index is built (and, in a transactional migration, until it commits)",
    fix: "CREATE INDEX CONCURRENTLY, in a migration marked -- migrate:up transaction:false (not inside a DO block)",
  },
  {
    id: "concurrently-in-transaction",
    level: "error",
    lock: null,
    title: "CONCURRENTLY inside a transaction or a DO block",
    why: "PostgreSQL refuses CREATE INDEX, DROP INDEX and REINDEX CONCURRENTLY, and DETACH PARTITION CONCURRENTLY, inside a transaction block or a function: the migration fails",
    fix: "put the statement in a migration marked -- migrate:up transaction:false, as a statement of its own",
  },
  {
    id: "add-column-volatile-default",
    level: "error",
    lock: "ACCESS EXCLUSIVE",
    title: "a column added with a volatile default",
    why: "a volatile default (random(), gen_random_uuid(), clock_timestamp(), nextval() — serial and identity columns too — or a STORED generated column) is computed for every existing row: the table is rewritten under ACCESS EXCLUSIVE, reads and writes wait. A constant or STABLE default (now()) is stored once and rewrites nothing (PostgreSQL 11+)",
    fix: "add the column without that default, SET DEFAULT for new rows, then backfill existing rows in batches",
  },
  {
    id: "add-column-not-null-without-default",
    level: "error",
    lock: "ACCESS EXCLUSIVE",
    title: "a NOT NULL column added without a default",
    why: "every existing row would hold NULL: the statement fails on a table that has rows, after holding ACCESS EXCLUSIVE while it checks",
    fix: "add the column nullable (or with a constant default), backfill, then set NOT NULL behind a validated CHECK (see not-null-without-check)",
  },
  {
    id: "not-null-without-check",
    level: "error",
    lock: "ACCESS EXCLUSIVE",
    title: "NOT NULL set or added without a validated CHECK",
    why: "SET NOT NULL (or ADD CONSTRAINT … NOT NULL) scans every row under ACCESS EXCLUSIVE, unless a validated CHECK (col IS NOT NULL) already proves it (PostgreSQL 12+)",
    fix: "ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID; VALIDATE CONSTRAINT c (writes go on); then SET NOT NULL, which no longer scans; then DROP CONSTRAINT c",
  },
  {
    id: "foreign-key-not-valid",
    level: "error",
    lock: "SHARE ROW EXCLUSIVE",
    title: "a foreign key added without NOT VALID",
    why: "every existing row is checked while both tables are locked SHARE ROW EXCLUSIVE: writes to either wait for the whole scan",
    fix: "ADD CONSTRAINT … FOREIGN KEY … NOT VALID (new writes are checked from then on), then VALIDATE CONSTRAINT in a later statement, which takes SHARE UPDATE EXCLUSIVE and lets writes go on",
  },
  {
    id: "check-not-valid",
    level: "error",
    lock: "ACCESS EXCLUSIVE",
    title: "a CHECK constraint added without NOT VALID",
    why: "every existing row is checked under ACCESS EXCLUSIVE: reads and writes wait for the whole scan",
    fix: "ADD CONSTRAINT … CHECK (…) NOT VALID, then VALIDATE CONSTRAINT in a later statement (SHARE UPDATE EXCLUSIVE)",
  },
  {
    id: "unique-without-index",
    level: "error",
    lock: "ACCESS EXCLUSIVE",
    title: "a UNIQUE or PRIMARY KEY constraint added without an existing index",
    why: "the unique index is built under ACCESS EXCLUSIVE: reads and writes wait for the whole build",
    fix: "CREATE UNIQUE INDEX CONCURRENTLY (transaction:false), then ADD CONSTRAINT … UNIQUE / PRIMARY KEY USING INDEX, which takes ACCESS EXCLUSIVE only for a moment (an exclusion constraint has no such path)",
  },
  {
    id: "alter-column-type",
    level: "error",
    lock: "ACCESS EXCLUSIVE",
    title: "a column type change that rewrites the table",
    why: "the table is rewritten and its indexes rebuilt under ACCESS EXCLUSIVE: reads and writes wait. Binary-coercible changes do not rewrite: varchar(n) → varchar(m ≥ n), varchar → text, numeric(p, s) → numeric(p′ ≥ p, s), or dropping a length limit",
    fix: "add a new column, backfill it in batches, switch the application over, then drop the old one; if the change is one of the binary-coercible ones, accept it with -- lint:ignore alter-column-type and say so",
  },
  {
    id: "rewrite-table",
    level: "error",
    lock: "ACCESS EXCLUSIVE",
    title: "VACUUM FULL, CLUSTER, SET TABLESPACE, SET LOGGED / UNLOGGED, SET ACCESS METHOD",
    why: "the whole table is copied under ACCESS EXCLUSIVE: reads and writes wait for as long as the copy takes",
    fix: "do it outside the migrations, with pg_repack or pg_squeeze, or in a maintenance window",
  },
  {
    id: "reindex-not-concurrent",
    level: "error",
    lock: "SHARE",
    title: "REINDEX without CONCURRENTLY",
    why: "writes to the table wait while the index is rebuilt, and so do the reads that would use it (the index itself is locked ACCESS EXCLUSIVE)",
    fix: "REINDEX … CONCURRENTLY (PostgreSQL 12+), in a migration marked transaction:false",
  },
  {
    id: "drop-table",
    level: "warning",
    lock: "ACCESS EXCLUSIVE",
    title: "a table dropped",
    why: "its data is gone, and any code still using it (the application version running during the deploy) fails",
    fix: "stop using the table in a deploy first; drop it in a later migration",
  },
  {
    id: "drop-column",
    level: "warning",
    lock: "ACCESS EXCLUSIVE",
    title: "a column dropped",
    why: "its data is gone, and any code still reading or writing it (the application version running during the deploy) fails",
    fix: "stop using the column in a deploy first; drop it in a later migration",
  },
  {
    id: "rename-table",
    level: "warning",
    lock: "ACCESS EXCLUSIVE",
    title: "a table renamed",
    why: "code still using the old name (the application version running during the deploy) fails",
    fix: "add the new name alongside the old (e.g. a view), switch the application over, then remove the old name",
  },
  {
    id: "rename-column",
    level: "warning",
    lock: "ACCESS EXCLUSIVE",
    title: "a column renamed",
    why: "code still using the old name (the application version running during the deploy) fails",
    fix: "add a new column, write both, backfill, switch reads over, then drop the old column",
  },
  {
    id: "truncate",
    level: "warning",
    lock: "ACCESS EXCLUSIVE",
    title: "TRUNCATE of an existing table",
    why: "every row is deleted at once, under ACCESS EXCLUSIVE until the migration commits",
    fix: "make sure the data is meant to go; delete in batches if the table is in use",
  },
  {
    id: "full-table-update",
    level: "warning",
    lock: "ROW EXCLUSIVE",
    title: "UPDATE or DELETE of every row of an existing table in one statement",
    why: "each changed row stays locked until the statement's transaction ends — the whole migration, if transactional — so writers of any of them wait; and every changed row leaves a dead copy behind until vacuum",
    fix: "backfill in batches: a transaction:false migration whose DO block changes a few thousand rows per transaction and COMMITs between them, as migration 008 does",
  },
  {
    id: "lock-table",
    level: "warning",
    lock: "varies",
    title: "LOCK TABLE",
    why: "the lock is held until the transaction ends: everything conflicting with it waits for the rest of the migration",
    fix: "take the weakest mode that is needed, late in the migration, with a short lock_timeout",
  },
  {
    id: "lock-wait",
    level: "warning",
    lock: "varies",
    title: "a lock that other sessions on the target conflict with right now",
    why: "the statement would wait for them, and while it waits every later query needing a conflicting lock on the table queues behind it (found only against a live target)",
    fix: "apply when they are done, or bound the wait with a short lock_timeout and retry, as migration 008 does",
  },
  {
    id: "do-block-opaque",
    level: "warning",
    lock: null,
    title: "a DO block the lint cannot see inside",
    why: "its body is not PL/pgSQL, or does not parse: none of its statements were checked",
    fix: "review the block by hand; prefer plain statements, or a PL/pgSQL block",
  },
  {
    id: "dynamic-sql",
    level: "info",
    lock: null,
    title: "SQL built at run time (EXECUTE) in a DO block",
    why: "the text EXECUTE runs exists only when the block runs: it was not checked (the rest of the block was)",
    fix: "review it by hand, or write the statement out where it does not need to be dynamic",
  },
  {
    id: "syntax-error",
    level: "error",
    lock: null,
    title: "SQL that PostgreSQL's parser refuses",
    why: "the statement cannot run, so the migration would fail",
    fix: "fix the statement",
  },
  {
    id: "lint-ignore-unknown-rule",
    level: "warning",
    lock: null,
    title: "-- lint:ignore naming a rule that does not exist",
    why: "a misspelt rule id ignores nothing: the finding it was meant to accept is still reported",
    fix: "name one of the rule ids of this table",
  },
] as const satisfies readonly (Omit<LintRule, "id"> & { id: string })[];

/** The id of a rule. */
export type LintRuleId = (typeof rules)[number]["id"];

/** Every rule, in the order the README lists them. */
export const LINT_RULES: readonly LintRule[] = rules;

const BY_ID = new Map<string, LintRule>(rules.map((rule) => [rule.id, rule]));

/** The rule with this id, or undefined for a string that is not one. */
export function lintRule(id: string): LintRule | undefined {
  return BY_ID.get(id);
}

export function isLintRuleId(id: string): id is LintRuleId {
  return BY_ID.has(id);
}
