import type { EventQuery } from "@studio/migrations-core";
import {
  type CompiledQuery,
  DummyDriver,
  type Expression,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  sql,
} from "kysely";
import type { TrackingDatabase } from "./tracking-database.ts";
import {
  quoteLiteral,
  RUNNING_SQL,
  type EventValues as TrackingEventValues,
  UNIT_LOCK,
} from "./tracking-sql.ts";

export { quoteLiteral, RUN_LOCK, toEvent, toRecord, UNIT_LOCK } from "./tracking-sql.ts";

/**
 * Every query against the tracking tables, typed by Kysely and compiled — not executed — here.
 * Each executor runs the compiled queries over its own transport: parameterised over a
 * connection (`pg`, PGlite), or with values inlined into one SQL batch (postgres-meta, whose
 * extended protocol refuses multi-statement SQL).
 *
 * The queries of fixed shape that every run and every apply needs are also precompiled, as the
 * text compiled here, in `tracking-sql.ts` (which does not load Kysely; `tracking-sql.test.ts`
 * holds the two equal). Change a query here, and the test shows what to change there.
 */

/** Renders string literals as `E'…'` with quotes and backslashes escaped, whatever the server's
 * `standard_conforming_strings`; everything else as Kysely's immediate values. */
class InlineValuesCompiler extends PostgresQueryCompiler {
  protected override appendValue(value: unknown): void {
    this.appendImmediateValue(value);
  }

  protected override appendStringLiteral(value: string): void {
    this.append(quoteLiteral(value));
  }
}

function compileOnly(compiler: () => PostgresQueryCompiler): Kysely<TrackingDatabase> {
  return new Kysely<TrackingDatabase>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: compiler,
    },
  });
}

export type TrackingQueries = ReturnType<typeof trackingQueries>;

/** Queries with `$n` parameters, for executors with a real connection. */
export const parameterisedQueries = trackingQueries(compileOnly(() => new PostgresQueryCompiler()));
/** Queries with every value inlined, to splice into a batch. */
export const inlineQueries = trackingQueries(compileOnly(() => new InlineValuesCompiler()));

/** A row value, or SQL computing it inside the batch (postgres-meta measures time server-side). */
type Value<T> = T | Expression<T>;

export type EventValues = TrackingEventValues<Expression<number | null>>;

function trackingQueries(db: Kysely<TrackingDatabase>) {
  const migrations = "platform.schema_migrations" as const;
  const events = "platform.schema_migration_events" as const;
  return {
    lockUnit: (): CompiledQuery =>
      sql`select pg_advisory_xact_lock(${sql.lit(UNIT_LOCK[0])}, ${sql.lit(UNIT_LOCK[1])})`.compile(
        db,
      ),

    selectRecords: () =>
      db
        .selectFrom(migrations)
        .select([
          "migration_name",
          "status",
          "applied_at",
          "applied_by",
          "error_message",
          "execution_time_ms",
          "checksum",
          "transactional",
          "rolled_back_at",
          "rolled_back_by",
          sql<boolean>`${sql.raw(RUNNING_SQL)}`.as("running"),
        ])
        .orderBy("migration_name")
        .compile(),

    /** One migration's status, as a scalar (usable as a subquery). */
    selectStatus: (migrationName: string) =>
      db
        .selectFrom(migrations)
        .select("status")
        .where("migration_name", "=", migrationName)
        .compile(),

    /** Who started the migration, if its row is an attempt started and not finished. */
    selectUnfinishedBy: (migrationName: string) =>
      db
        .selectFrom(migrations)
        .select("applied_by")
        .where("migration_name", "=", migrationName)
        .where("status", "=", "failed")
        .where("execution_time_ms", "is", null)
        .compile(),

    /**
     * Whether an attempt was given up on: its failed apply event carries `marker`. The event
     * index (migration_name, id) finds it.
     */
    selectAttemptRevoked: (migrationName: string, marker: string) =>
      db
        .selectFrom(events)
        .select("id")
        .where("migration_name", "=", migrationName)
        .where("action", "=", "apply")
        .where("outcome", "=", "failed")
        .where(sql<number>`strpos("error_message", ${marker})`, ">", 0)
        .compile(),

    selectStatuses: (names: readonly string[]) =>
      db
        .selectFrom(migrations)
        .select(["migration_name", "status"])
        .where("migration_name", "in", names.length > 0 ? [...names] : [""])
        .compile(),

    selectEvents: ({ migrationName, before, limit }: EventQuery) => {
      let query = db
        .selectFrom(events)
        .select([
          sql<string>`id::text`.as("id"),
          "migration_name",
          "action",
          "outcome",
          "actor",
          "at",
          "execution_time_ms",
          "error_message",
          "checksum",
        ])
        // The column, not the `id::text` alias: text would sort "10" before "9".
        .orderBy("platform.schema_migration_events.id", "desc")
        .limit(limit);
      if (migrationName !== undefined) query = query.where("migration_name", "=", migrationName);
      if (before !== undefined) query = query.where("id", "<", sql<string>`${before}::bigint`);
      return query.compile();
    },

    /** The row becomes `applied`; `executionTimeMs` is null for bookkeeping (baseline, resolve). */
    upsertApplied: (v: {
      migrationName: string;
      actor: string;
      checksum: string;
      executionTimeMs: Value<number | null>;
      upSql: Value<string | null>;
      transactional: boolean | null;
    }) =>
      db
        .insertInto(migrations)
        .values({
          migration_name: v.migrationName,
          status: "applied",
          applied_at: sql<Date>`now()`,
          applied_by: v.actor,
          error_message: null,
          execution_time_ms: v.executionTimeMs,
          checksum: v.checksum,
          up_sql: v.upSql,
          transactional: v.transactional,
          rolled_back_at: null,
          rolled_back_by: null,
        })
        .onConflict((oc) =>
          oc.column("migration_name").doUpdateSet((eb) => ({
            status: eb.ref("excluded.status"),
            applied_at: eb.ref("excluded.applied_at"),
            applied_by: eb.ref("excluded.applied_by"),
            error_message: eb.ref("excluded.error_message"),
            execution_time_ms: eb.ref("excluded.execution_time_ms"),
            checksum: eb.ref("excluded.checksum"),
            up_sql: eb.ref("excluded.up_sql"),
            transactional: eb.ref("excluded.transactional"),
            rolled_back_at: eb.ref("excluded.rolled_back_at"),
            rolled_back_by: eb.ref("excluded.rolled_back_by"),
          })),
        )
        .compile(),

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
      db
        .insertInto(migrations)
        .values({
          migration_name: v.migrationName,
          status: "failed",
          applied_at: sql<Date>`now()`,
          applied_by: v.actor,
          error_message: v.errorMessage,
          execution_time_ms: v.executionTimeMs,
          checksum: v.checksum,
          up_sql: v.upSql,
          transactional: v.transactional,
          rolled_back_at: null,
          rolled_back_by: null,
        })
        .onConflict((oc) =>
          oc
            .column("migration_name")
            .doUpdateSet((eb) => ({
              status: eb.ref("excluded.status"),
              applied_at: eb.ref("excluded.applied_at"),
              applied_by: eb.ref("excluded.applied_by"),
              error_message: eb.ref("excluded.error_message"),
              execution_time_ms: eb.ref("excluded.execution_time_ms"),
              checksum: eb.ref("excluded.checksum"),
              up_sql: eb.ref("excluded.up_sql"),
              transactional: eb.ref("excluded.transactional"),
              rolled_back_at: eb.ref("excluded.rolled_back_at"),
              rolled_back_by: eb.ref("excluded.rolled_back_by"),
            }))
            .where("platform.schema_migrations.status", "<>", "applied"),
        )
        .compile(),

    /** An applied (or failed) row becomes `rolled_back`, keeping who applied it and when. */
    markRolledBack: (v: { migrationName: string; actor: string }) =>
      db
        .updateTable(migrations)
        .set({
          status: "rolled_back",
          error_message: null,
          rolled_back_at: sql<Date>`now()`,
          rolled_back_by: v.actor,
        })
        .where("migration_name", "=", v.migrationName)
        .compile(),

    markRollbackAttempt: (v: {
      migrationName: string;
      errorMessage: string;
      executionTimeMs: number | null;
    }) =>
      db
        .updateTable(migrations)
        .set({
          status: "failed",
          error_message: v.errorMessage,
          execution_time_ms: v.executionTimeMs,
          transactional: false,
        })
        .where("migration_name", "=", v.migrationName)
        .compile(),

    setChecksum: (v: { migrationName: string; checksum: string }) =>
      db
        .updateTable(migrations)
        .set({ checksum: v.checksum })
        .where("migration_name", "=", v.migrationName)
        .compile(),

    insertEvent: (v: EventValues) =>
      db
        .insertInto(events)
        .values({
          migration_name: v.migrationName,
          action: v.action,
          outcome: v.outcome,
          actor: v.actor,
          execution_time_ms: v.executionTimeMs,
          error_message: v.errorMessage,
          checksum: v.checksum,
        })
        .compile(),
  };
}
