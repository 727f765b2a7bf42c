import type {
  EventOutcome,
  MigrationAction,
  MigrationEvent,
  MigrationRecord,
  Resolution,
} from "@studio/migrations-core";

/**
 * What the bookkeeping SQL is made of besides the queries themselves, hand-written because Kysely
 * cannot say it or need not: the lock keys, the runner's sign of life (`RUNNING_SQL`), how values
 * are inlined into a batch, and how rows are read back. The queries are defined once, with Kysely,
 * in `tracking-queries.ts`; the fixed-shape ones are precompiled from there into
 * `tracking-sql.generated.ts`, so that a run needs no Kysely at all.
 */

/** Session-level lock held for a whole run (one applier at a time). */
export const RUN_LOCK = [0x53_74_4d_67, 1] as const;
/** Transaction-level lock taken by every unit of work (applies each migration exactly once). */
export const UNIT_LOCK = [0x53_74_4d_67, 2] as const;
/**
 * The first key of the session lock a `transaction:false` section's runner holds while its
 * statements run (the second is `hashtext(migration_name)`): the database's own answer to "is
 * its runner still working?" over a transport with a session (pg, PGlite).
 */
export const RUNNER_LOCK = 0x53_74_4d_68;

const MARKER_PREFIX = "/* studio-migrations: running ";

/** The oid of the database the statement runs in. */
const THIS_DATABASE =
  "(select d.oid from pg_catalog.pg_database d where d.datname = pg_catalog.current_database())";

/**
 * A transaction-local setting in which a batch's interrupted events note themselves as they are
 * written (a JSON array of their rows), for the batch's last statement to answer.
 */
export const INTERRUPTED_NOTED = "studio_migrations.interrupted";

/** What a runner without a session (postgres-meta) puts before each statement it sends. */
export function runnerMarker(nameMd5: string): string {
  return `${MARKER_PREFIX}${nameMd5} */`;
}

/**
 * Whether an unfinished row's runner is still working, answered by the database itself: its
 * session holds the runner lock, or a statement it sent is active (postgres-meta). An expression
 * over a `platform.schema_migrations` row, read by every state read. It calls the functions behind
 * the `pg_locks` and `pg_stat_activity` views rather than the views (the same rows; the views
 * only add names joined from other catalogs): planning the views' joins cost a new backend —
 * every postgres-meta request — ≈ 4 ms per read, 2 ms on a warm one. Both list every database
 * of the server: only this database's runners count (another database of the same server,
 * applying the same migrations — a staging copy, another tenant's — is not this one's runner).
 */
export const RUNNING_SQL = `("status" = 'failed' and "execution_time_ms" is null and (exists (select from pg_catalog.pg_lock_status() l where l.locktype = 'advisory' and l.granted and l.database = ${THIS_DATABASE} and l.classid = ${RUNNER_LOCK} and l.objid = pg_catalog.hashtext("migration_name")::oid and l.objsubid = 2) or exists (select from pg_catalog.pg_stat_get_activity(null) a where a.state = 'active' and a.datid = ${THIS_DATABASE} and pg_catalog.starts_with(a.query, '${MARKER_PREFIX}' || pg_catalog.md5("migration_name") || ' */'))))`;

/** A query and its `$n` parameters; `R` is the row it returns. Kysely's `CompiledQuery` fits. */
export interface SqlQuery<R = unknown> {
  readonly sql: string;
  readonly parameters: readonly unknown[];
  /** Never set: carries the row type. */
  readonly $row?: R;
}

/** SQL spliced into a batch as written — a value computed inside it (postgres-meta, units). */
export interface RawSql {
  readonly raw: string;
}

export function raw(text: string): RawSql {
  return { raw: text };
}

/** A row value, or SQL computing it inside the batch. */
export type Value<T> = T | RawSql;

/** One event's values. */
export interface EventValues {
  migrationName: string;
  action: MigrationAction;
  outcome: EventOutcome;
  actor: string;
  executionTimeMs: Value<number | null>;
  errorMessage: string | null;
  checksum: string | null;
  /** For a resolve, the resolution chosen; null for every other action. */
  resolution: Resolution | null;
}

/** A string as an `E'…'` literal, safe to splice into SQL whatever `standard_conforming_strings`. */
export function quoteLiteral(value: string): string {
  if (value.includes("\u0000")) throw new Error("Postgres text cannot contain NUL characters.");
  return `E'${value.replaceAll("\\", "\\\\").replaceAll("'", "''")}'`;
}

/**
 * The query with every parameter written into its text — strings as `E'…'` literals, numbers and
 * null as themselves, raw SQL as given — to splice into a multi-statement batch, which the
 * extended protocol (the one that takes parameters) refuses. The texts here hold no `$` but
 * their placeholders.
 */
export function inline(query: SqlQuery): string {
  return query.sql.replace(/\$(\d+)/g, (_, index: string) =>
    literal(query.parameters[Number(index) - 1]),
  );
}

function literal(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return quoteLiteral(value);
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "object" && "raw" in value && typeof value.raw === "string") {
    return value.raw;
  }
  throw new Error(`Cannot inline ${typeof value} into SQL.`);
}

/** A `schema_migrations` row as the core sees it; dates may arrive as strings (over HTTP). */
export function toRecord(row: {
  migration_name: string;
  status: MigrationRecord["status"];
  applied_at: Date | string;
  applied_by: string | null;
  error_message: string | null;
  execution_time_ms: number | null;
  checksum: string | null;
  transactional?: boolean | null;
  rolled_back_at: Date | string | null;
  rolled_back_by: string | null;
  running?: boolean | string | null;
}): MigrationRecord {
  return {
    migrationName: row.migration_name,
    status: row.status,
    appliedAt: new Date(row.applied_at),
    appliedBy: row.applied_by,
    errorMessage: row.error_message,
    executionTimeMs: row.execution_time_ms === null ? null : Number(row.execution_time_ms),
    checksum: row.checksum,
    transactional: row.transactional ?? null,
    running: row.running === true || row.running === "t",
    rolledBackAt: row.rolled_back_at === null ? null : new Date(row.rolled_back_at),
    rolledBackBy: row.rolled_back_by,
  };
}

export function toEvent(row: {
  id: string | number | bigint;
  migration_name: string;
  action: MigrationAction;
  outcome: EventOutcome;
  actor: string | null;
  at: Date | string;
  execution_time_ms: number | null;
  error_message: string | null;
  checksum: string | null;
  resolution?: string | null;
}): MigrationEvent {
  return {
    id: String(row.id),
    migrationName: row.migration_name,
    action: row.action,
    outcome: row.outcome,
    actor: row.actor,
    at: new Date(row.at),
    executionTimeMs: row.execution_time_ms === null ? null : Number(row.execution_time_ms),
    errorMessage: row.error_message,
    checksum: row.checksum,
    resolution: isResolution(row.resolution) ? row.resolution : null,
  };
}

function isResolution(value: unknown): value is Resolution {
  return value === "applied" || value === "rolled_back" || value === "accept_checksum";
}
