// Generated from the Kysely definitions in tracking-queries.ts by
// `npm run generate --workspace @studio/migrations-postgres`: do not edit; change those and
// regenerate (tracking-sql.test.ts fails while this file is not current). Text, so that a run
// never loads Kysely (some 300 modules, over 100 ms).
import type { FixedQueryRow as Row, FixedQueryValues as Values } from "./tracking-queries.ts";
import type { SqlQuery } from "./tracking-sql.ts";

/** The fixed-shape bookkeeping queries, with `$n` parameters (see tracking-queries.ts for each). */
export const trackingSql = {
  lockUnit: (): SqlQuery<Row<"lockUnit">> => ({
    sql: "select pg_advisory_xact_lock(1400130919, 2)",
    parameters: [],
  }),
  selectRecords: (): SqlQuery<Row<"selectRecords">> => ({
    sql: 'select "migration_name", "status", "applied_at", "applied_by", "error_message", "execution_time_ms", "checksum", "transactional", "rolled_back_at", "rolled_back_by", ("status" = \'failed\' and "execution_time_ms" is null and (exists (select from pg_catalog.pg_lock_status() l where l.locktype = \'advisory\' and l.granted and l.database = (select d.oid from pg_catalog.pg_database d where d.datname = pg_catalog.current_database()) and l.classid = 1400130920 and l.objid = pg_catalog.hashtext("migration_name")::oid and l.objsubid = 2) or exists (select from pg_catalog.pg_stat_get_activity(null) a where a.state = \'active\' and a.datid = (select d.oid from pg_catalog.pg_database d where d.datname = pg_catalog.current_database()) and pg_catalog.starts_with(a.query, \'/* studio-migrations: running \' || pg_catalog.md5("migration_name") || \' */\')))) as "running" from "platform"."schema_migrations" order by "migration_name"',
    parameters: [],
  }),
  selectStatus: (v: Values<"selectStatus">): SqlQuery<Row<"selectStatus">> => ({
    sql: 'select "status" from "platform"."schema_migrations" where "migration_name" = $1',
    parameters: [v.migrationName],
  }),
  selectState: (v: Values<"selectState">): SqlQuery<Row<"selectState">> => ({
    sql: 'select case when ("status" = \'failed\' and "execution_time_ms" is null and (exists (select from pg_catalog.pg_lock_status() l where l.locktype = \'advisory\' and l.granted and l.database = (select d.oid from pg_catalog.pg_database d where d.datname = pg_catalog.current_database()) and l.classid = 1400130920 and l.objid = pg_catalog.hashtext("migration_name")::oid and l.objsubid = 2) or exists (select from pg_catalog.pg_stat_get_activity(null) a where a.state = \'active\' and a.datid = (select d.oid from pg_catalog.pg_database d where d.datname = pg_catalog.current_database()) and pg_catalog.starts_with(a.query, \'/* studio-migrations: running \' || pg_catalog.md5("migration_name") || \' */\')))) then \'running\' else "status" end as "state" from "platform"."schema_migrations" where "migration_name" = $1',
    parameters: [v.migrationName],
  }),
  selectRecordedSql: (v: Values<"selectRecordedSql">): SqlQuery<Row<"selectRecordedSql">> => ({
    sql: 'select "up_sql" from "platform"."schema_migrations" where "migration_name" = $1',
    parameters: [v.migrationName],
  }),
  selectUnfinishedBy: (v: Values<"selectUnfinishedBy">): SqlQuery<Row<"selectUnfinishedBy">> => ({
    sql: 'select "applied_by" from "platform"."schema_migrations" where "migration_name" = $1 and "status" = $2 and "execution_time_ms" is null',
    parameters: [v.migrationName, "failed"],
  }),
  selectAttemptRevoked: (
    v: Values<"selectAttemptRevoked">,
  ): SqlQuery<Row<"selectAttemptRevoked">> => ({
    sql: 'select "id" from "platform"."schema_migration_events" where "migration_name" = $1 and "action" = $2 and "outcome" = $3 and strpos("error_message", $4) > $5',
    parameters: [v.migrationName, v.action, "failed", v.marker, 0],
  }),
  upsertApplied: (v: Values<"upsertApplied">): SqlQuery<Row<"upsertApplied">> => ({
    sql: 'insert into "platform"."schema_migrations" ("migration_name", "status", "applied_at", "applied_by", "error_message", "execution_time_ms", "checksum", "up_sql", "transactional", "rolled_back_at", "rolled_back_by") values ($1, $2, now(), $3, $4, $5, $6, $7, $8, $9, $10) on conflict ("migration_name") do update set "status" = "excluded"."status", "applied_at" = "excluded"."applied_at", "applied_by" = "excluded"."applied_by", "error_message" = "excluded"."error_message", "execution_time_ms" = "excluded"."execution_time_ms", "checksum" = "excluded"."checksum", "up_sql" = "excluded"."up_sql", "transactional" = "excluded"."transactional", "rolled_back_at" = "excluded"."rolled_back_at", "rolled_back_by" = "excluded"."rolled_back_by"',
    parameters: [
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
    ],
  }),
  upsertFailed: (v: Values<"upsertFailed">): SqlQuery<Row<"upsertFailed">> => ({
    sql: 'insert into "platform"."schema_migrations" ("migration_name", "status", "applied_at", "applied_by", "error_message", "execution_time_ms", "checksum", "up_sql", "transactional", "rolled_back_at", "rolled_back_by") values ($1, $2, now(), $3, $4, $5, $6, $7, $8, $9, $10) on conflict ("migration_name") do update set "status" = "excluded"."status", "applied_at" = "excluded"."applied_at", "applied_by" = "excluded"."applied_by", "error_message" = "excluded"."error_message", "execution_time_ms" = "excluded"."execution_time_ms", "checksum" = "excluded"."checksum", "up_sql" = "excluded"."up_sql", "transactional" = "excluded"."transactional", "rolled_back_at" = "excluded"."rolled_back_at", "rolled_back_by" = "excluded"."rolled_back_by" where "platform"."schema_migrations"."status" <> $11',
    parameters: [
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
    ],
  }),
  markRolledBack: (v: Values<"markRolledBack">): SqlQuery<Row<"markRolledBack">> => ({
    sql: 'update "platform"."schema_migrations" set "status" = $1, "error_message" = $2, "rolled_back_at" = now(), "rolled_back_by" = $3 where "migration_name" = $4',
    parameters: ["rolled_back", null, v.actor, v.migrationName],
  }),
  markRollbackAttempt: (
    v: Values<"markRollbackAttempt">,
  ): SqlQuery<Row<"markRollbackAttempt">> => ({
    sql: 'update "platform"."schema_migrations" set "status" = $1, "error_message" = $2, "execution_time_ms" = $3, "transactional" = $4 where "migration_name" = $5',
    parameters: ["failed", v.errorMessage, v.executionTimeMs, false, v.migrationName],
  }),
  insertInterruptedEvent: (
    v: Values<"insertInterruptedEvent">,
  ): SqlQuery<Row<"insertInterruptedEvent">> => ({
    sql: 'insert into "platform"."schema_migration_events" ("migration_name", "action", "outcome", "actor", "execution_time_ms", "error_message", "checksum", "resolution") select "m"."migration_name", $1 as "action", \'failed\' as "outcome", "w"."who", null::integer as "execution_time_ms", pg_catalog.format($2, "w"."who", pg_catalog.to_char("m"."applied_at" at time zone \'UTC\', \'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"\'), $3, pg_catalog.to_char(pg_catalog.now() at time zone \'UTC\', \'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"\')) as "error_message", "m"."checksum", null::text as "resolution" from "platform"."schema_migrations" as "m" inner join lateral (select case when pg_catalog.starts_with("m"."error_message", $4) and pg_catalog.right("m"."error_message", pg_catalog.length($5)) = $6 then pg_catalog.left(pg_catalog.substr("m"."error_message", pg_catalog.length($7) + 1), -pg_catalog.length($8)) else "m"."applied_by" end as "who") as "w" on true where "m"."migration_name" = $9 and "m"."status" = $10 and "m"."execution_time_ms" is null and not ("status" = \'failed\' and "execution_time_ms" is null and (exists (select from pg_catalog.pg_lock_status() l where l.locktype = \'advisory\' and l.granted and l.database = (select d.oid from pg_catalog.pg_database d where d.datname = pg_catalog.current_database()) and l.classid = 1400130920 and l.objid = pg_catalog.hashtext("migration_name")::oid and l.objsubid = 2) or exists (select from pg_catalog.pg_stat_get_activity(null) a where a.state = \'active\' and a.datid = (select d.oid from pg_catalog.pg_database d where d.datname = pg_catalog.current_database()) and pg_catalog.starts_with(a.query, \'/* studio-migrations: running \' || pg_catalog.md5("migration_name") || \' */\')))) and coalesce(pg_catalog.starts_with("m"."error_message", $11), false) = ($12 = \'rollback\') and not exists (select "e"."id" from "platform"."schema_migration_events" as "e" where "e"."migration_name" = "m"."migration_name" and "e"."action" = $13 and "e"."outcome" = $14 and "e"."at" >= "m"."applied_at" and pg_catalog.starts_with("e"."error_message", $15)) returning pg_catalog.set_config(E\'studio_migrations.interrupted\', (coalesce(nullif(pg_catalog.current_setting(E\'studio_migrations.interrupted\', true), \'\'), \'[]\')::jsonb || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(\'migration_name\', migration_name, \'action\', action, \'actor\', actor, \'error_message\', error_message)))::text, true) as "noted"',
    parameters: [
      v.action,
      v.template,
      v.detectedBy,
      v.startedBefore,
      v.startedAfter,
      v.startedAfter,
      v.startedBefore,
      v.startedAfter,
      v.migrationName,
      "failed",
      v.startedBefore,
      v.action,
      v.action,
      "failed",
      v.interruptedPrefix,
    ],
  }),
  setChecksum: (v: Values<"setChecksum">): SqlQuery<Row<"setChecksum">> => ({
    sql: 'update "platform"."schema_migrations" set "checksum" = $1 where "migration_name" = $2',
    parameters: [v.checksum, v.migrationName],
  }),
  insertEvent: (v: Values<"insertEvent">): SqlQuery<Row<"insertEvent">> => ({
    sql: 'insert into "platform"."schema_migration_events" ("migration_name", "action", "outcome", "actor", "execution_time_ms", "error_message", "checksum", "resolution") values ($1, $2, $3, $4, $5, $6, $7, $8)',
    parameters: [
      v.migrationName,
      v.action,
      v.outcome,
      v.actor,
      v.executionTimeMs,
      v.errorMessage,
      v.checksum,
      v.resolution,
    ],
  }),
  insertEventAnsweringTime: (
    v: Values<"insertEventAnsweringTime">,
  ): SqlQuery<Row<"insertEventAnsweringTime">> => ({
    sql: 'insert into "platform"."schema_migration_events" ("migration_name", "action", "outcome", "actor", "execution_time_ms", "error_message", "checksum", "resolution") values ($1, $2, $3, $4, $5, $6, $7, $8) returning "execution_time_ms"',
    parameters: [
      v.migrationName,
      v.action,
      v.outcome,
      v.actor,
      v.executionTimeMs,
      v.errorMessage,
      v.checksum,
      v.resolution,
    ],
  }),
};
