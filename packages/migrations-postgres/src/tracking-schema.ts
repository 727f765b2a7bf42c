/**
 * The tracking tables (SPEC §3): exactly the up section of
 * `migrations/000_platform_migrations_tracking.sql` (a test holds the two equal). Executors run it
 * before they record anything, so the very first attempt — applying 000 itself included — has
 * somewhere to be recorded; 000 is idempotent and then changes nothing.
 */
export const TRACKING_TABLES_SQL = `-- The tracking tables of the migrations engine itself (SPEC section 3).
--
-- The engine creates these exact objects on its own before it records anything, so that the very
-- first apply (this file included) has somewhere to be recorded. This file therefore has to be a
-- no-op when they already exist: every statement below is guarded, and running it twice changes
-- nothing. Keep it identical in shape to the engine bootstrap, or the two will drift apart.

create schema if not exists platform;

-- Current state: one row per migration, rewritten as that migration is applied, fails, or is
-- rolled back.
create table if not exists platform.schema_migrations (
  id uuid primary key default gen_random_uuid(),
  migration_name text unique not null,
  applied_at timestamptz not null default now(),
  applied_by text,
  status text not null check (status in ('applied', 'failed', 'rolled_back')),
  error_message text,
  execution_time_ms integer,
  checksum text,
  rolled_back_at timestamptz,
  rolled_back_by text
);

-- History: one row per attempt, never changed afterwards. An identity key rather than a uuid so
-- that ordering by id is the order in which the attempts were recorded.
create table if not exists platform.schema_migration_events (
  id bigint generated always as identity primary key,
  migration_name text not null,
  action text not null check (action in ('apply', 'rollback', 'baseline', 'resolve')),
  outcome text not null check (outcome in ('succeeded', 'failed')),
  actor text,
  at timestamptz not null default now(),
  execution_time_ms integer,
  error_message text,
  checksum text
);

-- The history of one migration, in order, is the common read.
create index if not exists schema_migration_events_migration_name_id_idx
  on platform.schema_migration_events (migration_name, id);

-- Append-only is enforced by the database, not by the good manners of its clients: any role that
-- can write to the table could otherwise rewrite the audit trail. A statement-level trigger refuses
-- UPDATE and DELETE even when they would touch no row, and TRUNCATE (which bypasses row triggers)
-- has a trigger of its own. Only the table owner disabling the triggers, or a superuser, gets
-- around this, and that is itself visible DDL.
create or replace function platform.schema_migration_events_append_only()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  raise exception 'platform.schema_migration_events is append-only: % is not allowed', tg_op
    using errcode = 'restrict_violation',
          hint = 'The migrations audit trail records every attempt and is never rewritten.';
end;
$$;

-- Checked in the catalog rather than dropped and re-created, so a second run takes no lock on the
-- events table and really is a no-op.
do $$
begin
  if not exists (
    select 1 from pg_catalog.pg_trigger
    where tgrelid = 'platform.schema_migration_events'::regclass
      and tgname = 'schema_migration_events_no_update_delete'
  ) then
    create trigger schema_migration_events_no_update_delete
      before update or delete on platform.schema_migration_events
      for each statement execute function platform.schema_migration_events_append_only();
  end if;

  if not exists (
    select 1 from pg_catalog.pg_trigger
    where tgrelid = 'platform.schema_migration_events'::regclass
      and tgname = 'schema_migration_events_no_truncate'
  ) then
    create trigger schema_migration_events_no_truncate
      before truncate on platform.schema_migration_events
      for each statement execute function platform.schema_migration_events_append_only();
  end if;
end;
$$;

-- No down section, on purpose. Rolling this migration back would drop the record of every
-- migration ever applied, including the record of this rollback, and the engine would recreate
-- the tables on its next run anyway. A deliberate teardown is a manual drop by an operator.
`;

/**
 * Columns added to the tracking tables after 000 was first released, added by the executors
 * rather than by editing 000: a database that applied the earlier 000 would otherwise see it as
 * drifted. Run after {@link TRACKING_TABLES_SQL}, under the unit lock; checked in the catalog first,
 * so that when nothing is missing it takes no lock on the table.
 */
export const TRACKING_UPGRADE_SQL = `do $upgrade$
begin
  if not exists (
    select from pg_catalog.pg_attribute
    where attrelid = 'platform.schema_migrations'::regclass and attname = 'up_sql' and not attisdropped
  ) then
    alter table platform.schema_migrations add column up_sql text;
  end if;
  -- Whether the attempt the row records ran in a transaction: a failure outside one may have left
  -- part of its changes, and blocks applies, whatever the file says now.
  if not exists (
    select from pg_catalog.pg_attribute
    where attrelid = 'platform.schema_migrations'::regclass and attname = 'transactional' and not attisdropped
  ) then
    alter table platform.schema_migrations add column transactional boolean;
  end if;
  -- For a resolve, the resolution chosen (SPEC section 3); null for every other action.
  if not exists (
    select from pg_catalog.pg_attribute
    where attrelid = 'platform.schema_migration_events'::regclass and attname = 'resolution' and not attisdropped
  ) then
    alter table platform.schema_migration_events add column resolution text
      check (resolution in ('applied', 'rolled_back', 'accept_checksum'));
  end if;
end
$upgrade$`;
