/**
 * What the live target says about a relation that pending migrations would touch: whether it is
 * there, how big it is, and who holds a lock on it right now. Read through an executor (the SQL
 * lives with the executors: `relationSizesSql` / `parseRelationSizes` in
 * `@studio/migrations-postgres`) and handed to the lint, which stays pure.
 */

/**
 * A table-level lock mode, spelled as `LOCK TABLE … IN <mode> MODE` spells it; weakest first.
 * (`pg_locks` spells them `AccessShareLock` … `AccessExclusiveLock`.)
 */
export type TableLockMode =
  | "ACCESS SHARE"
  | "ROW SHARE"
  | "ROW EXCLUSIVE"
  | "SHARE UPDATE EXCLUSIVE"
  | "SHARE"
  | "SHARE ROW EXCLUSIVE"
  | "EXCLUSIVE"
  | "ACCESS EXCLUSIVE";

/** What a relation is (`pg_class.relkind`, in words). */
export type RelationKind =
  | "table"
  | "partitioned table"
  | "index"
  | "partitioned index"
  | "view"
  | "materialized view"
  | "sequence"
  | "foreign table"
  | "toast table"
  | "composite type";

/** One relation as the target sees it. */
export interface RelationSize {
  /**
   * The name as it was asked for, in SQL's spelling (identifiers double-quoted where they must be,
   * e.g. `platform.users`, `"Events"`): the key a caller looks the answer up by.
   */
  readonly name: string;
  /**
   * Whether the name resolves on the target. An unqualified name resolves as `to_regclass` does,
   * through the `search_path` of the session that asked; a qualified one by its exact names.
   */
  readonly exists: boolean;
  /** What it resolved to, schema-qualified and quoted as `format('%I.%I')` does; null when it does not exist. */
  readonly relation: string | null;
  /** null when it does not exist. */
  readonly kind: RelationKind | null;
  /**
   * The planner's row estimate, `pg_class.reltuples`, rounded; null when the relation has never
   * been vacuumed or analyzed (`-1` since PostgreSQL 14; a partitioned table always), or does not
   * exist. An estimate: as fresh as the last (auto)vacuum or analyze.
   */
  readonly estimatedRows: number | null;
  /**
   * `pg_total_relation_size`: the heap, its TOAST table and all its indexes, in bytes; null when it
   * does not exist. While another session holds or awaits ACCESS EXCLUSIVE on it, measuring would
   * wait behind that lock, so it is then the catalog's estimate (pages as of the last vacuum or
   * analyze, times the block size).
   */
  readonly totalBytes: number | null;
  /**
   * Every other session's lock on the relation at the time of asking, held or waited for, from
   * `pg_locks` (the asking session's own are left out). Empty when none, or when it does not exist.
   */
  readonly lockHolders: readonly RelationLockHolder[];
}

/** A session's lock on a relation, held or queued for, with what that session is doing. */
export interface RelationLockHolder {
  /** The backend's process id; null for a prepared transaction, which holds locks without a backend. */
  readonly pid: number | null;
  /**
   * The lock mode: one of {@link TableLockMode} for a table-level lock; otherwise `pg_locks`' own
   * name, as given (`SIReadLock`, a serializable transaction's predicate lock, conflicts with none).
   */
  readonly mode: string;
  /** true when the lock is held; false when the session is queued for it (a request ahead in the queue blocks later conflicting ones too). */
  readonly granted: boolean;
  /** The session's user (`pg_stat_activity.usename`); null when unknown. */
  readonly user: string | null;
  /** `pg_stat_activity.application_name`; null when unknown or empty. */
  readonly applicationName: string | null;
  /** `pg_stat_activity.state` (`active`, `idle in transaction`, …); null when unknown. */
  readonly state: string | null;
  /**
   * ISO 8601. For a held lock, when the holder's transaction began (a table lock is kept to the
   * end of the transaction that took it); for a queued one, when it began waiting; null when
   * unknown.
   */
  readonly since: string | null;
  /** The first 200 characters of the session's current (or, when idle, last) query; null when unknown or not visible to the asking role. */
  readonly query: string | null;
}
