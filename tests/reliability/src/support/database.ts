import { parseMigration } from "@studio/migrations-core";
import { query, withClient } from "@studio/test-postgres";
import type { MigrationFile } from "./migrations.ts";

/**
 * Everything the test migrations can create in schema `app`, as sorted text: relations, columns
 * with types, defaults and comments, indexes with their validity (an index left INVALID by an
 * interrupted CREATE INDEX CONCURRENTLY shows), constraints, functions, triggers, enums, views,
 * and each table's row count.
 */
const CATALOG = `
with ns as (select oid, nspname from pg_namespace where nspname = 'app')
select 'schema ' || nspname as item from ns
union all
select 'relation ' || c.relkind::text || ' ' || c.relname || coalesce(' comment=' || obj_description(c.oid, 'pg_class'), '')
  from pg_class c join ns on ns.oid = c.relnamespace where c.relkind in ('r', 'v', 'm', 'S', 'p')
union all
select 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
       || case when a.attnotnull then ' not null' else '' end
       || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
       || coalesce(' comment=' || col_description(c.oid, a.attnum), '')
  from pg_attribute a join pg_class c on c.oid = a.attrelid join ns on ns.oid = c.relnamespace
  left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
 where c.relkind in ('r', 'v', 'p') and a.attnum > 0 and not a.attisdropped
union all
select 'index ' || pg_get_indexdef(i.indexrelid)
       || case when i.indisvalid then '' else ' INVALID' end
       || case when i.indisready then '' else ' NOT READY' end
  from pg_index i join pg_class c on c.oid = i.indexrelid join ns on ns.oid = c.relnamespace
union all
select 'constraint ' || co.conrelid::regclass || ' ' || co.conname || ' ' || pg_get_constraintdef(co.oid)
  from pg_constraint co join ns on ns.oid = co.connamespace
union all
select 'function ' || p.oid::regprocedure || ' ' || md5(pg_get_functiondef(p.oid))
  from pg_proc p join ns on ns.oid = p.pronamespace
union all
select 'trigger ' || t.tgrelid::regclass || ' ' || t.tgname
  from pg_trigger t join pg_class c on c.oid = t.tgrelid join ns on ns.oid = c.relnamespace
 where not t.tgisinternal
union all
select 'enum ' || t.typname || ' ' || (select string_agg(e.enumlabel, ',' order by e.enumsortorder) from pg_enum e where e.enumtypid = t.oid)
  from pg_type t join ns on ns.oid = t.typnamespace where t.typtype = 'e'
union all
select 'view ' || c.relname || ' ' || md5(pg_get_viewdef(c.oid))
  from pg_class c join ns on ns.oid = c.relnamespace where c.relkind = 'v'
union all
select 'rows ' || c.relname || ' ' || (xpath('/row/n/text()', query_to_xml(format('select count(*) as n from %I.%I', ns.nspname, c.relname), false, true, '')))[1]::text
  from pg_class c join ns on ns.oid = c.relnamespace where c.relkind = 'r'
order by 1`;

export async function catalog(url: string): Promise<string[]> {
  return (await query<{ item: string }>(url, CATALOG)).map((r) => r.item);
}

/** How many times each migration's SQL ran, from the data it wrote (`app.apply_log`). */
export async function applyLog(url: string): Promise<Record<string, number>> {
  const [exists] = await query<{ ok: boolean }>(
    url,
    "select to_regclass('app.apply_log') is not null as ok",
  );
  if (!exists?.ok) return {};
  const rows = await query<{ migration: string; n: number }>(
    url,
    "select migration, count(*)::int as n from app.apply_log group by 1 order by 1",
  );
  return Object.fromEntries(rows.map((r) => [r.migration, r.n]));
}

export interface TrackedRow extends Record<string, unknown> {
  migration_name: string;
  status: string;
  applied_by: string | null;
  error_message: string | null;
  execution_time_ms: number | null;
  checksum: string | null;
}

export interface EventRow extends Record<string, unknown> {
  id: string;
  migration_name: string;
  action: string;
  outcome: string;
  actor: string | null;
  error_message: string | null;
  checksum: string | null;
}

export interface Tracking {
  rows: TrackedRow[];
  events: EventRow[];
}

/** Both tracking tables as the database holds them (empty when they do not exist yet). */
export async function tracking(url: string): Promise<Tracking> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ ok: boolean }>(
      "select to_regclass('platform.schema_migration_events') is not null as ok",
    );
    if (!rows[0]?.ok) return { rows: [], events: [] };
    const tracked = await client.query<TrackedRow>(
      `select migration_name, status, applied_by, error_message, execution_time_ms, checksum
         from platform.schema_migrations order by migration_name`,
    );
    const events = await client.query<EventRow>(
      `select id::text, migration_name, action, outcome, actor, error_message, checksum
         from platform.schema_migration_events order by id`,
    );
    return { rows: tracked.rows, events: events.rows };
  });
}

/** The checksum each file must be recorded with (SPEC §2). */
export function checksums(files: readonly MigrationFile[]): Record<string, string> {
  return Object.fromEntries(
    files.map((f) => {
      const parsed = parseMigration(f.name, f.text, `${f.name}.sql`);
      if (!parsed.ok) throw new Error(`test migration ${f.name} does not parse`);
      return [f.name, parsed.migration.checksum];
    }),
  );
}

/**
 * The exactly-once invariant, from the database: every migration has one row, `applied`, with
 * its file's checksum; exactly one succeeded apply event and no failed one; and its SQL ran once
 * (`app.apply_log`). Returns the violations, empty when it holds.
 */
export async function exactlyOnceViolations(
  url: string,
  files: readonly MigrationFile[],
): Promise<string[]> {
  const problems: string[] = [];
  const { rows, events } = await tracking(url);
  const sums = checksums(files);
  const names = files.map((f) => f.name);
  const recorded = rows.map((r) => r.migration_name);
  if (recorded.join() !== names.join()) {
    problems.push(`tracked ${recorded.join(", ")}; expected ${names.join(", ")}`);
  }
  for (const row of rows) {
    if (row.status !== "applied") problems.push(`${row.migration_name} is ${row.status}`);
    if (row.checksum !== sums[row.migration_name])
      problems.push(`${row.migration_name} has checksum ${row.checksum}`);
  }
  for (const name of names) {
    const mine = events.filter((e) => e.migration_name === name && e.action === "apply");
    const succeeded = mine.filter((e) => e.outcome === "succeeded").length;
    const failed = mine.filter((e) => e.outcome === "failed");
    if (succeeded !== 1) problems.push(`${name} has ${succeeded} succeeded apply events`);
    for (const f of failed) problems.push(`${name} has a failed apply event: ${f.error_message}`);
  }
  const ran = await applyLog(url);
  for (const name of names) {
    const prefix = name.slice(0, 3);
    if (ran[prefix] !== 1) problems.push(`${name}'s SQL ran ${ran[prefix] ?? 0} times`);
  }
  return problems;
}

/** Row counts and the newest event: what a refused request must leave exactly as it was. */
export async function trackingFingerprint(url: string): Promise<string> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ ok: boolean }>(
      "select to_regclass('platform.schema_migration_events') is not null as ok",
    );
    if (!rows[0]?.ok) return "no tracking tables";
    const { rows: fingerprint } = await client.query<{ f: string }>(
      `select (select count(*) || ' events, last ' || coalesce(max(id), 0) from platform.schema_migration_events)
              || '; ' ||
              (select coalesce(string_agg(migration_name || ':' || status || ':' || coalesce(checksum, '') || ':' || coalesce(applied_by, ''), ',' order by migration_name), 'no rows')
                 from platform.schema_migrations) as f`,
    );
    return fingerprint[0]?.f ?? "";
  });
}

/**
 * Back to an empty `app` schema and empty tracking tables, as on a fresh database, for suites
 * whose servers (Studio, postgres-meta) stay bound to one database across rounds.
 */
export async function resetDatabase(url: string): Promise<void> {
  await withClient(url, async (client) => {
    await client.query("drop schema if exists app cascade");
    const { rows } = await client.query(
      "select to_regclass('platform.schema_migrations') is not null as ok",
    );
    if (!rows[0]?.ok) return;
    // The audit trail refuses TRUNCATE by trigger; a test's reset is the one exception.
    await client.query(
      `begin;
       set local session_replication_role = replica;
       truncate platform.schema_migrations, platform.schema_migration_events restart identity;
       commit`,
    );
  });
}
