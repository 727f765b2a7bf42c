import type { EventQuery, MigrationAction } from "@studio/migrations-core";
import {
  type CompiledQuery,
  DummyDriver,
  type Expression,
  type ExpressionBuilder,
  Kysely,
  type OnConflictTables,
  type OnConflictUpdateDatabase,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  sql,
} from "kysely";
import type { TrackingDatabase } from "./tracking-database.ts";
import {
  type EventValues,
  INTERRUPTED_NOTED,
  quoteLiteral,
  type RawSql,
  RUNNING_SQL,
  UNIT_LOCK,
  type Value,
} from "./tracking-sql.ts";

/**
 * Every query against the tracking tables, typed by Kysely and compiled — not executed — here:
 * the one definition of each. The executors run them as SQL text with every value inlined, over
 * whatever transport (a unit of work is one multi-statement batch, which the extended protocol,
 * the one taking parameters, refuses).
 *
 * The fixed-shape queries ({@link fixedQueries}) that every run and every apply needs are not
 * compiled at run time: `npm run generate` writes them, compiled here, into
 * `tracking-sql.generated.ts` (see `tracking-sql-generator.ts`), which does not load Kysely — some
 * 300 ES modules, more than 100 ms that a deploy's `studio-migrate apply` with nothing to do would
 * otherwise pay. A test fails when that file is not current. The queries whose shape varies (the
 * audit trail's filters) are compiled here when needed, and this module is loaded only then.
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

const parameterised = compileOnly(() => new PostgresQueryCompiler());
const inlined = compileOnly(() => new InlineValuesCompiler());

/** The fixed-shape queries with `$n` parameters: what the generator compiles. */
export const parameterisedQueries = fixedQueries(parameterised);
/** The fixed-shape queries with every value inlined (a test holds `inline` of the generated ones equal). */
export const inlineQueries = fixedQueries(inlined);
/** The queries whose shape varies, with every value inlined, to send as they are. */
export const variableInlineQueries = variableQueries(inlined);

export type FixedQueries = ReturnType<typeof fixedQueries>;
export type FixedQueryName = keyof FixedQueries;
/** What a fixed-shape query takes (`undefined` for one that takes nothing). */
export type FixedQueryValues<K extends FixedQueryName> = Parameters<FixedQueries[K]>[0];
/** The row a fixed-shape query returns. */
export type FixedQueryRow<K extends FixedQueryName> =
  ReturnType<FixedQueries[K]> extends CompiledQuery<infer R> ? R : never;

/** SQL computing a value inside the batch, as Kysely takes it; a plain value as it is. */
function value<T>(v: Value<T>): T | Expression<T> {
  return isRaw(v) ? sql.raw<T>(v.raw) : v;
}

function isRaw(v: unknown): v is RawSql {
  return typeof v === "object" && v !== null && "raw" in v && typeof v.raw === "string";
}

/**
 * Queries whose text never depends on their values: each takes one object (or nothing), and each
 * of its values becomes one parameter — which is what lets the generator precompile them.
 */
function fixedQueries(db: Kysely<TrackingDatabase>) {
  const migrations = "platform.schema_migrations" as const;
  const events = "platform.schema_migration_events" as const;
  /** One audit event, as both event inserts write it. */
  const eventInsert = (v: EventValues) =>
    db.insertInto(events).values({
      migration_name: v.migrationName,
      action: v.action,
      outcome: v.outcome,
      actor: v.actor,
      execution_time_ms: value(v.executionTimeMs),
      error_message: v.errorMessage,
      checksum: v.checksum,
      resolution: v.resolution,
    });
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
    selectStatus: (v: { migrationName: string }) =>
      db
        .selectFrom(migrations)
        .select("status")
        .where("migration_name", "=", v.migrationName)
        .compile(),

    /**
     * One migration's state as a scalar: its status, or `running` while a started attempt's
     * runner is still working on it (see `RUNNING_SQL`).
     */
    selectState: (v: { migrationName: string }) =>
      db
        .selectFrom(migrations)
        .select(
          sql<string>`case when ${sql.raw(RUNNING_SQL)} then 'running' else "status" end`.as(
            "state",
          ),
        )
        .where("migration_name", "=", v.migrationName)
        .compile(),

    /** The up section as it ran (`up_sql`), for a diff against the file. */
    selectRecordedSql: (v: { migrationName: string }) =>
      db
        .selectFrom(migrations)
        .select("up_sql")
        .where("migration_name", "=", v.migrationName)
        .compile(),

    /** Who started the migration, if its row is an attempt started and not finished. */
    selectUnfinishedBy: (v: { migrationName: string }) =>
      db
        .selectFrom(migrations)
        .select("applied_by")
        .where("migration_name", "=", v.migrationName)
        .where("status", "=", "failed")
        .where("execution_time_ms", "is", null)
        .compile(),

    /**
     * Whether an attempt was given up on: its failed event of `action` carries `marker`. The
     * event index (migration_name, id) finds it.
     */
    selectAttemptRevoked: (v: { migrationName: string; action: MigrationAction; marker: string }) =>
      db
        .selectFrom(events)
        .select("id")
        .where("migration_name", "=", v.migrationName)
        .where("action", "=", v.action)
        .where("outcome", "=", "failed")
        .where(sql<number>`strpos("error_message", ${v.marker})`, ">", 0)
        .compile(),

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
          execution_time_ms: value(v.executionTimeMs),
          checksum: v.checksum,
          up_sql: value(v.upSql),
          transactional: v.transactional,
          rolled_back_at: null,
          rolled_back_by: null,
        })
        .onConflict((oc) => oc.column("migration_name").doUpdateSet(replaceRow))
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
          execution_time_ms: value(v.executionTimeMs),
          checksum: v.checksum,
          up_sql: value(v.upSql),
          transactional: v.transactional,
          rolled_back_at: null,
          rolled_back_by: null,
        })
        .onConflict((oc) =>
          oc
            .column("migration_name")
            .doUpdateSet(replaceRow)
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

    /**
     * A `transaction:false` down section started (no execution time yet: the claim, shown
     * interrupted should it never finish) or failed partway: the row becomes `failed`, keeping
     * who applied it and the SQL that ran.
     */
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

    /**
     * The failed event of a `transaction:false` attempt found interrupted (the core's
     * `record_interrupted` bookkeeping), decided here, under the unit lock, on the row as it is:
     * inserted only while the row is a started, unfinished attempt of `action` — a down
     * section's started message begins with `startedBefore` — whose runner is not working on it
     * (`RUNNING_SQL`, as every state read tells running from interrupted), and only if no failed
     * event of `action` beginning with `interruptedPrefix` was recorded since the attempt's
     * claim (`applied_at`, which an up section's claim sets, and which any way back to `applied`
     * before a down section's claim sets too). Its actor is who started the attempt: a down
     * section's, between `startedBefore` and `startedAfter` in its started message; otherwise
     * `applied_by`. Its message is `template`, a `format()` string taking who started it, when,
     * `detectedBy`, and now.
     */
    insertInterruptedEvent: (v: {
      migrationName: string;
      action: "apply" | "rollback";
      startedBefore: string;
      startedAfter: string;
      interruptedPrefix: string;
      template: string;
      detectedBy: string;
    }) => {
      const message = sql.ref("m.error_message");
      const noted = sql.raw(quoteLiteral(INTERRUPTED_NOTED));
      const iso = (at: Expression<Date>) =>
        sql<string>`pg_catalog.to_char(${at} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
      // Who started it, once for the actor and the message: what the started message of a down
      // section holds between its two fixed parts; otherwise `applied_by`.
      const startedBy = db
        .selectNoFrom(
          sql<
            string | null
          >`case when pg_catalog.starts_with(${message}, ${v.startedBefore}) and pg_catalog.right(${message}, pg_catalog.length(${v.startedAfter})) = ${v.startedAfter} then pg_catalog.left(pg_catalog.substr(${message}, pg_catalog.length(${v.startedBefore}) + 1), -pg_catalog.length(${v.startedAfter})) else ${sql.ref("m.applied_by")} end`.as(
            "who",
          ),
        )
        .as("w");
      return (
        db
          .insertInto(events)
          .columns([
            "migration_name",
            "action",
            "outcome",
            "actor",
            "execution_time_ms",
            "error_message",
            "checksum",
            "resolution",
          ])
          .expression(
            db
              .selectFrom(`${migrations} as m`)
              .innerJoinLateral(startedBy, (join) => join.onTrue())
              .select(({ ref }) => [
                "m.migration_name",
                sql<string>`${v.action}`.as("action"),
                sql<string>`'failed'`.as("outcome"),
                "w.who",
                sql<number | null>`null::integer`.as("execution_time_ms"),
                sql<string>`pg_catalog.format(${v.template}, ${ref("w.who")}, ${iso(ref("m.applied_at"))}, ${v.detectedBy}, ${iso(sql<Date>`pg_catalog.now()`)})`.as(
                  "error_message",
                ),
                "m.checksum",
                sql<string | null>`null::text`.as("resolution"),
              ])
              .where("m.migration_name", "=", v.migrationName)
              .where("m.status", "=", "failed")
              .where("m.execution_time_ms", "is", null)
              .where(sql<boolean>`not ${sql.raw(RUNNING_SQL)}`)
              .where(
                sql<boolean>`coalesce(pg_catalog.starts_with(${message}, ${v.startedBefore}), false) = (${v.action} = 'rollback')`,
              )
              .where(({ not, exists, selectFrom }) =>
                not(
                  exists(
                    selectFrom(`${events} as e`)
                      .select("e.id")
                      .whereRef("e.migration_name", "=", "m.migration_name")
                      .where("e.action", "=", v.action)
                      .where("e.outcome", "=", "failed")
                      .whereRef("e.at", ">=", "m.applied_at")
                      .where(
                        sql<boolean>`pg_catalog.starts_with(${sql.ref("e.error_message")}, ${v.interruptedPrefix})`,
                      ),
                  ),
                ),
              ),
          )
          // Noted for the batch's answer (`INTERRUPTED_NOTED`): only the operation that writes the
          // event logs it.
          .returning(
            sql<string>`pg_catalog.set_config(${noted}, (coalesce(nullif(pg_catalog.current_setting(${noted}, true), ''), '[]')::jsonb || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('migration_name', migration_name, 'action', action, 'actor', actor, 'error_message', error_message)))::text, true)`.as(
              "noted",
            ),
          )
          .compile()
      );
    },

    setChecksum: (v: { migrationName: string; checksum: string }) =>
      db
        .updateTable(migrations)
        .set({ checksum: v.checksum })
        .where("migration_name", "=", v.migrationName)
        .compile(),

    insertEvent: (v: EventValues) => eventInsert(v).compile(),

    /**
     * {@link insertEvent}, answering the execution time it recorded: a unit's last statement,
     * whose rows are the unit's answer (it saves a `select` of its own).
     */
    insertEventAnsweringTime: (v: EventValues) =>
      eventInsert(v).returning("execution_time_ms").compile(),
  };
}

type Migrations = "platform.schema_migrations";

/** An upsert's conflict branch: the row takes every value the insert carried. */
function replaceRow(
  eb: ExpressionBuilder<
    OnConflictUpdateDatabase<TrackingDatabase, Migrations>,
    OnConflictTables<Migrations>
  >,
) {
  return {
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
  };
}

/** Queries whose text depends on their values: compiled when needed. */
function variableQueries(db: Kysely<TrackingDatabase>) {
  const events = "platform.schema_migration_events" as const;
  return {
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
          "resolution",
        ])
        // The column, not the `id::text` alias: text would sort "10" before "9".
        .orderBy("platform.schema_migration_events.id", "desc")
        .limit(limit);
      if (migrationName !== undefined) query = query.where("migration_name", "=", migrationName);
      if (before !== undefined) query = query.where("id", "<", sql<string>`${before}::bigint`);
      return query.compile();
    },
  };
}
