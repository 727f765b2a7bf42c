import { randomBytes } from "node:crypto";
import { createMigrationEngine, type MigrationText, memorySource } from "@studio/migrations-core";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Target, targets } from "./test-targets.ts";

// SPEC §4 *Isolated*: every migration starts in a pristine session whatever earlier ones did to
// theirs, and the bookkeeping is immune to it; a directory applied in one run equals the same
// directory applied one migration per run. Run on every real executor.

// Roles are cluster-wide: each test's own, dropped afterwards.
const role = `hostile_${randomBytes(4).toString("hex")}`;

/** A migration that does to its session what SQL allows, and the ones after it that would notice. */
function hostileDirectory(): MigrationText[] {
  return [
    {
      name: "001_hostile_session",
      sql: `-- migrate:up
create schema elsewhere;
create table public.parent (id int primary key);
create table public.child (parent_id int references public.parent (id));
create table public.texts (v text);
create table public.trigger_log (fired_for text);
create function public.log_insert() returns trigger language plpgsql as $$
begin insert into public.trigger_log values (new.v); return new; end $$;
create trigger texts_log after insert on public.texts for each row execute function public.log_insert();
create temp table items (id int);
set search_path = elsewhere, public;
set session_replication_role = replica;
set standard_conforming_strings = off;
set default_transaction_read_only = on;
prepare leaked_plan as select 1;
listen leaked_channel;
select pg_advisory_lock(4242);
declare leaked_cursor cursor with hold for select 1;
do $$ begin create role ${role} nologin; exception when duplicate_object then null; end $$;
set role ${role};
`,
    },
    {
      name: "002_victim",
      sql: `-- migrate:up
create table items (id int);
insert into items values (1);
create table placed (id int);
insert into texts values ('a\\b');
prepare leaked_plan as select 2;
do $$
begin
  if exists (select from pg_listening_channels()) then raise exception 'LISTEN leaked'; end if;
  if exists (select from pg_cursors where name = 'leaked_cursor') then raise exception 'cursor leaked'; end if;
  if exists (select from pg_locks where locktype = 'advisory' and objid = 4242 and pid = pg_backend_pid()) then
    raise exception 'advisory lock leaked';
  end if;
end $$;
`,
    },
    { name: "003_reset_all", sql: "-- migrate:up\nreset all;\nset search_path = elsewhere;\n" },
    {
      name: "004_set_role_outside_a_transaction",
      sql: `-- migrate:up transaction:false\nset role ${role};\nset search_path = elsewhere;\nselect 1;\n`,
    },
    { name: "005_after", sql: "-- migrate:up\ncreate table after_all (id int);\n" },
  ];
}

/** What the hostile directory leaves behind, to compare between runs and assert. */
async function snapshot(target: Target) {
  return {
    publicItems: await target.query<{ n: number }>("select count(*)::int as n from public.items"),
    placed: await target.query<{ schema: string }>(
      "select schemaname as schema from pg_tables where tablename in ('placed', 'after_all') order by tablename",
    ),
    texts: await target.query<{ v: string }>("select v from public.texts"),
    triggerLog: await target.query<{ n: number }>(
      "select count(*)::int as n from public.trigger_log",
    ),
    owners: await target.query<{ table: string; owner_is_connecting_role: boolean }>(
      `select tablename as table, tableowner = current_user as owner_is_connecting_role
         from pg_tables where tablename in ('placed', 'after_all') order by tablename`,
    ),
    rows: await target.query<{ migration_name: string; status: string; timed: boolean }>(
      `select migration_name, status, execution_time_ms is not null as timed
         from platform.schema_migrations order by migration_name`,
    ),
  };
}

describe.each(targets)("isolated migrations over %s", (_, makeTarget) => {
  let oneRun: Target;
  let perRun: Target;
  beforeAll(async () => {
    [oneRun, perRun] = await Promise.all([makeTarget(), makeTarget()]);
  });
  afterAll(async () => {
    await Promise.all([oneRun?.dispose(), perRun?.dispose()]);
    // The role is cluster-wide on a real server; PGlite's went with its database.
    const admin = new pg.Client({ connectionString: process.env.DATABASE_URL });
    if (process.env.DATABASE_URL) {
      await admin.connect();
      await admin.query(`drop role if exists ${role}`).catch(() => {});
      await admin.end();
    }
  });

  it("starts every migration in a pristine session, and records each as the connecting role", async () => {
    const texts = hostileDirectory();
    const engine = createMigrationEngine({
      executor: oneRun.executor(),
      source: memorySource(texts),
    });
    const report = await engine.apply({ actor: "ops" });
    expect(report.failed).toBeNull();
    expect(report.results.map((r) => r.status)).toEqual(Array(texts.length).fill("applied"));

    const state = await snapshot(oneRun);
    expect(state.publicItems).toEqual([{ n: 1 }]); // not into a leaked temp table
    expect(state.placed.map((p) => p.schema)).toEqual(["public", "public"]); // not search_path's
    expect(state.texts).toEqual([{ v: "a\\b" }]); // standard_conforming_strings as configured
    expect(state.triggerLog).toEqual([{ n: 1 }]); // triggers fire: not session_replication_role
    expect(state.owners.every((o) => o.owner_is_connecting_role)).toBe(true); // not SET ROLE's
    expect(state.rows).toEqual(
      texts.map((t) => ({ migration_name: t.name, status: "applied", timed: true })),
    );
    const events = await oneRun.query<{ outcome: string; actor: string }>(
      "select outcome, actor from platform.schema_migration_events order by id",
    );
    expect(events).toEqual(texts.map(() => ({ outcome: "succeeded", actor: "ops" })));
  });

  // Each run a new executor, as each would be a new process: no session carries over but the
  // database's.
  it("gives the same database applied one migration per run as in one run", async () => {
    const texts = hostileDirectory();
    for (const text of texts) {
      const executor = perRun.executor();
      const engine = createMigrationEngine({ executor, source: memorySource(texts) });
      const report = await engine.apply({ actor: "ops", migrationName: text.name });
      expect(report.failed).toBeNull();
    }
    expect(await snapshot(perRun)).toEqual(await snapshot(oneRun));
  });
});

describe.each(targets)("bookkeeping over %s", (_, makeTarget) => {
  let target: Target;
  beforeAll(async () => {
    target = await makeTarget();
  });
  afterAll(() => target?.dispose());

  it("records the SQL exactly as it ran, CRLF and all", async () => {
    const executor = target.executor();
    const sql =
      "create table crlf (v text default E'a\\r\\nb');\r\n-- 𝄞 é ✓\r\ncomment on table crlf is 'line\r\nbreak';\r\n";
    const outcome = await executor.applyMigration({
      migration: { name: "010_crlf", sql, transactional: true, checksum: "c" },
      actor: "ops",
    });
    expect(outcome.status).toBe("applied");
    const nonTransactional = "create index concurrently crlf_v on crlf (v);\r\n-- é\r\n";
    await executor.applyMigration({
      migration: { name: "011_crlf", sql: nonTransactional, transactional: false, checksum: "d" },
      actor: "ops",
    });
    expect(
      await target.query<{ up_sql: string }>(
        "select up_sql from platform.schema_migrations order by migration_name",
      ),
    ).toEqual([{ up_sql: sql }, { up_sql: nonTransactional }]);
    expect(
      await target.query<{ comment: string }>(
        "select obj_description('public.crlf'::regclass, 'pg_class') as comment",
      ),
    ).toEqual([{ comment: "line\r\nbreak" }]);
  });

  it("says so when the migration breaks the bookkeeping, rather than blaming its SQL", async () => {
    const engine = createMigrationEngine({
      executor: target.executor(),
      source: memorySource([
        {
          name: "020_drops_the_audit_trail",
          sql: "-- migrate:up\ncreate table fine (id int);\ndrop table platform.schema_migration_events;\n",
        },
      ]),
    });
    const report = await engine.apply({ actor: "ops" });
    expect(report.failed?.error).toMatchObject({
      code: "SMBKP",
      message: expect.stringContaining("recording it failed"),
      position: null,
    });
    // Rolled back together: the table is not there, the audit trail is, with the failure in it.
    expect(await target.query("select to_regclass('public.fine') as t")).toEqual([{ t: null }]);
    expect(
      await target.query<{ outcome: string }>(
        "select outcome from platform.schema_migration_events where migration_name = '020_drops_the_audit_trail'",
      ),
    ).toEqual([{ outcome: "failed" }]);
  });

  it("blames the migration's own last statement, whatever it did to its session first", async () => {
    // The session reset's own statements, then a failure: on pg and PGlite the bookkeeping is
    // told from the migration by what completed before the failure.
    const sql =
      "create table blamed (id int);\nset search_path = pg_temp;\nreset all;\ndiscard temp;\nselect 1/0;\n";
    const outcome = await target.executor().applyMigration({
      migration: { name: "021_fails_last", sql, transactional: true, checksum: "c" },
      actor: "ops",
    });
    expect(outcome).toMatchObject({
      status: "failed",
      error: { code: "22012", message: "division by zero" },
    });
    expect(await target.query("select to_regclass('public.blamed') as t")).toEqual([{ t: null }]);
  });

  it("says so when a down section breaks the bookkeeping, and keeps the migration applied", async () => {
    const executor = target.executor();
    const migration = { name: "022_down_breaks", transactional: true, checksum: "c" };
    expect(
      await executor.applyMigration({
        migration: { ...migration, sql: "create table kept (id int);" },
        actor: "ops",
      }),
    ).toMatchObject({ status: "applied" });
    const outcome = await executor.rollbackMigration({
      migration: {
        ...migration,
        sql: "drop table kept;\nalter table platform.schema_migrations rename to gone;\n",
      },
      actor: "ops",
    });
    expect(outcome).toMatchObject({
      status: "failed",
      error: {
        code: "SMBKP",
        message: expect.stringContaining("recording it failed"),
        position: null,
      },
    });
    expect(await target.query("select to_regclass('public.kept') is not null as kept")).toEqual([
      { kept: true },
    ]);
    expect(
      await target.query<{ status: string }>(
        "select status from platform.schema_migrations where migration_name = '022_down_breaks'",
      ),
    ).toEqual([{ status: "applied" }]);
  });

  it("leaves nothing of a failed migration's session to the next one", async () => {
    const texts: MigrationText[] = [
      {
        name: "030_fails_after_preparing",
        sql: "-- migrate:up\nprepare kept_plan as select 1;\nselect pg_advisory_lock(4343);\nselect 1/0;\n",
      },
    ];
    const engine = createMigrationEngine({
      executor: target.executor(),
      source: memorySource(texts),
    });
    expect((await engine.apply({ actor: "ops" })).failed?.error?.code).toBe("22012");
    // Fixed and applied again, in a session where the failed attempt's PREPARE and lock would show.
    texts[0] = {
      name: "030_fails_after_preparing",
      sql: `-- migrate:up
prepare kept_plan as select 2;
do $$ begin
  if exists (select from pg_locks where locktype = 'advisory' and objid = 4343 and pid = pg_backend_pid()) then
    raise exception 'advisory lock leaked';
  end if;
end $$;
`,
    };
    const report = await engine.apply({ actor: "ops" });
    expect(report.failed).toBeNull();
    expect(report.results.map((r) => r.status)).toEqual(["applied"]);
  });
});
