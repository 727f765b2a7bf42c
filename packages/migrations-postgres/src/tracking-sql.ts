import type {
  EventOutcome,
  MigrationAction,
  MigrationEvent,
  MigrationRecord,
  RecordedStatus,
} from "@studio/migrations-core";
import type { Selectable } from "kysely";
import type { SchemaMigrationsTable } from "./tracking-database.ts";

/**
 * The bookkeeping queries every apply and every run needs, precompiled: exactly the SQL and
 * parameters that Kysely compiles `tracking-queries.ts` to (a test holds each one equal to
 * Kysely's output, for the `$n` and the inlined form), as constant text. Loading Kysely — some
 * 300 ES modules — costs more than 100 ms, which a deploy's `studio-migrate apply` with nothing
 * to do would otherwise pay for queries whose text never changes. `tracking-queries.ts` stays
 * the typed definition; the queries whose shape varies (the audit trail's filters, a list of
 * names) are built there, and that module is only loaded when one of them is needed.
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

/** What a runner without a session (postgres-meta) puts before each statement it sends. */
export function runnerMarker(nameMd5: string): string {
  return `/* studio-migrations: running ${nameMd5} */`;
}

/**
 * Whether an unfinished row's runner is still working, answered by the database itself: its
 * session holds the runner lock, or a statement it sent is active (postgres-meta).
 */
const RUNNING = `("status" = 'failed' and "execution_time_ms" is null and (exists (select from pg_catalog.pg_locks l where l.locktype = 'advisory' and l.granted and l.classid = ${RUNNER_LOCK} and l.objid = pg_catalog.hashtext("migration_name")::oid and l.objsubid = 2) or exists (select from pg_catalog.pg_stat_activity a where a.state = 'active' and pg_catalog.starts_with(a.query, '/* studio-migrations: running ' || pg_catalog.md5("migration_name") || ' */'))))`;
export const RUNNING_SQL = RUNNING;

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
type Value<T> = T | RawSql;

/** One event's values; `Computed` is how SQL computing a value is written (raw text here). */
export interface EventValues<Computed = RawSql> {
  migrationName: string;
  action: MigrationAction;
  outcome: EventOutcome;
  actor: string;
  executionTimeMs: number | null | Computed;
  errorMessage: string | null;
  checksum: string | null;
}

export type RecordRow = Pick<
  Selectable<SchemaMigrationsTable>,
  | "migration_name"
  | "status"
  | "applied_at"
  | "applied_by"
  | "error_message"
  | "execution_time_ms"
  | "checksum"
  | "transactional"
  | "rolled_back_at"
  | "rolled_back_by"
>;

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

const MIGRATIONS = `"platform"."schema_migrations"`;
const EVENTS = `"platform"."schema_migration_events"`;
const RECORD_COLUMNS = `"migration_name", "status", "applied_at", "applied_by", "error_message", "execution_time_ms", "checksum", "transactional", "rolled_back_at", "rolled_back_by"`;
const UPSERT_COLUMNS = `"migration_name", "status", "applied_at", "applied_by", "error_message", "execution_time_ms", "checksum", "up_sql", "transactional", "rolled_back_at", "rolled_back_by"`;
const EXCLUDED = [
  "status",
  "applied_at",
  "applied_by",
  "error_message",
  "execution_time_ms",
  "checksum",
  "up_sql",
  "transactional",
  "rolled_back_at",
  "rolled_back_by",
]
  .map((column) => `"${column}" = "excluded"."${column}"`)
  .join(", ");
const UPSERT = `insert into ${MIGRATIONS} (${UPSERT_COLUMNS}) values ($1, $2, now(), $3, $4, $5, $6, $7, $8, $9, $10) on conflict ("migration_name") do update set ${EXCLUDED}`;

const query = <R>(sql: string, parameters: readonly unknown[] = []): SqlQuery<R> => ({
  sql,
  parameters,
});

export const trackingSql = {
  lockUnit: () => query<never>(`select pg_advisory_xact_lock(${UNIT_LOCK[0]}, ${UNIT_LOCK[1]})`),

  selectRecords: () =>
    query<RecordRow & { running: boolean }>(
      `select ${RECORD_COLUMNS}, ${RUNNING} as "running" from ${MIGRATIONS} order by "migration_name"`,
    ),

  /** One migration's status, as a scalar (usable as a subquery). */
  selectStatus: (migrationName: string) =>
    query<{ status: RecordedStatus }>(
      `select "status" from ${MIGRATIONS} where "migration_name" = $1`,
      [migrationName],
    ),

  /** Who started the migration, if its row is an attempt started and not finished. */
  selectUnfinishedBy: (migrationName: string) =>
    query<{ applied_by: string | null }>(
      `select "applied_by" from ${MIGRATIONS} where "migration_name" = $1 and "status" = $2 and "execution_time_ms" is null`,
      [migrationName, "failed"],
    ),

  /**
   * Whether an attempt was given up on: its failed apply event carries `marker`. The event
   * index (migration_name, id) finds it.
   */
  selectAttemptRevoked: (migrationName: string, marker: string) =>
    query<{ id: string }>(
      `select "id" from ${EVENTS} where "migration_name" = $1 and "action" = $2 and "outcome" = $3 and strpos("error_message", $4) > $5`,
      [migrationName, "apply", "failed", marker, 0],
    ),

  /** The row becomes `applied`; `executionTimeMs` is null for bookkeeping (baseline, resolve). */
  upsertApplied: (v: {
    migrationName: string;
    actor: string;
    checksum: string;
    executionTimeMs: Value<number | null>;
    upSql: Value<string | null>;
    transactional: boolean | null;
  }) =>
    query<never>(UPSERT, [
      v.migrationName,
      "applied",
      v.actor,
      null,
      v.executionTimeMs,
      v.checksum,
      v.upSql,
      v.transactional,
      null,
      null,
    ]),

  /**
   * The row becomes `failed` — unless it is `applied`, which a failure never overwrites (an
   * attempt whose commit raced its own error report may have gone through after all).
   * `executionTimeMs` null marks an attempt as started and not finished.
   */
  upsertFailed: (v: {
    migrationName: string;
    actor: string;
    checksum: string;
    executionTimeMs: Value<number | null>;
    errorMessage: string;
    upSql: Value<string | null>;
    transactional: boolean;
  }) =>
    query<never>(`${UPSERT} where ${MIGRATIONS}."status" <> $11`, [
      v.migrationName,
      "failed",
      v.actor,
      v.errorMessage,
      v.executionTimeMs,
      v.checksum,
      v.upSql,
      v.transactional,
      null,
      null,
      "applied",
    ]),

  /** An applied (or failed) row becomes `rolled_back`, keeping who applied it and when. */
  markRolledBack: (v: { migrationName: string; actor: string }) =>
    query<never>(
      `update ${MIGRATIONS} set "status" = $1, "error_message" = $2, "rolled_back_at" = now(), "rolled_back_by" = $3 where "migration_name" = $4`,
      ["rolled_back", null, v.actor, v.migrationName],
    ),

  /**
   * A `transaction:false` down section started (no execution time yet: the claim, shown
   * interrupted should it never finish) or failed partway: the row becomes `failed`, keeping who
   * applied it and the SQL that ran.
   */
  markRollbackAttempt: (v: {
    migrationName: string;
    errorMessage: string;
    executionTimeMs: number | null;
  }) =>
    query<never>(
      `update ${MIGRATIONS} set "status" = $1, "error_message" = $2, "execution_time_ms" = $3, "transactional" = $4 where "migration_name" = $5`,
      ["failed", v.errorMessage, v.executionTimeMs, false, v.migrationName],
    ),

  setChecksum: (v: { migrationName: string; checksum: string }) =>
    query<never>(`update ${MIGRATIONS} set "checksum" = $1 where "migration_name" = $2`, [
      v.checksum,
      v.migrationName,
    ]),

  insertEvent: (v: EventValues) =>
    query<never>(
      `insert into ${EVENTS} ("migration_name", "action", "outcome", "actor", "execution_time_ms", "error_message", "checksum") values ($1, $2, $3, $4, $5, $6, $7)`,
      [
        v.migrationName,
        v.action,
        v.outcome,
        v.actor,
        v.executionTimeMs,
        v.errorMessage,
        v.checksum,
      ],
    ),
};

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
  };
}
