import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import {
  createMigrationEngine,
  directorySource,
  type Executor,
  parseMigration,
} from "@studio/migrations-core";
import { createTestDatabase, type TestDatabase } from "@studio/test-postgres";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createPGliteExecutor, createPostgresExecutor, TRACKING_TABLES_SQL } from "./index.ts";

const MIGRATIONS_DIR = fileURLToPath(new URL("../../../migrations/", import.meta.url));
const source = directorySource(MIGRATIONS_DIR);
const ACTOR = "platform-test";

/** Everything in the platform schema that a migration can create, as comparable text. */
const CATALOG = `
  select 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
         || case when a.attnotnull then ' not null' else '' end
         || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '') as item
    from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
    left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
   where n.nspname = 'platform' and c.relkind = 'r' and a.attnum > 0 and not a.attisdropped
  union all
  select 'index ' || indexdef from pg_indexes where schemaname = 'platform'
  union all
  select 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) || ' ' || convalidated
    from pg_constraint where connamespace = 'platform'::regnamespace
  union all
  select 'function ' || p.oid::regprocedure || ' ' || md5(pg_get_functiondef(p.oid))
    from pg_proc p where p.pronamespace = 'platform'::regnamespace
  union all
  select 'trigger ' || tgrelid::regclass || ' ' || tgname from pg_trigger t
    join pg_class c on c.oid = t.tgrelid where c.relnamespace = 'platform'::regnamespace and not t.tgisinternal
  order by 1`;

describe("migration 000 and the executors' bootstrap", () => {
  it("are the same SQL, so the bootstrap creates exactly what 000 does", async () => {
    const { migrations } = await source.load();
    const m000 = migrations.find((m) => m.name === "000_platform_migrations_tracking");
    expect(m000?.up).toBe(TRACKING_TABLES_SQL);
    expect(parseMigration("000_platform_migrations_tracking", TRACKING_TABLES_SQL, "x").ok).toBe(
      true,
    );
  });
});

describe("the platform migrations on PostgreSQL", () => {
  let database: TestDatabase;
  let client: pg.Client;
  let executor: Executor;
  beforeEach(async () => {
    database = await createTestDatabase("platform");
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
    executor = createPostgresExecutor({ connection: database.url });
  });
  afterEach(async () => {
    await executor.close();
    await client.end();
    await database.drop();
  });

  const engine = () => createMigrationEngine({ executor, source });
  const catalog = async () =>
    (await client.query<{ item: string }>(CATALOG)).rows.map((r) => r.item);

  it("all apply in order from an empty database, and a second run does nothing", async () => {
    const report = await engine().apply({ actor: ACTOR });
    expect(report.failed).toBeNull();
    expect(report.results.map((r) => [r.migrationName, r.status])).toEqual(
      (await source.load()).migrations.map((m) => [m.name, "applied"]),
    );
    const { rows } = await client.query(
      "select migration_name, status, applied_by from platform.schema_migrations order by 1",
    );
    expect(rows).toHaveLength(9);
    expect(rows.every((r) => r.status === "applied" && r.applied_by === ACTOR)).toBe(true);
    expect((await engine().apply({ actor: ACTOR })).results).toEqual([]);
    expect((await engine().list()).problems).toEqual([]);
  });

  it("008 backfills each user with the organization of their earliest membership", async () => {
    await engine().apply({ upTo: "007_create_audit_logs", actor: ACTOR });
    await client.query(`
      insert into platform.organizations (id, slug, name) values
        ('00000000-0000-0000-0000-00000000000a', 'alpha', 'Alpha'),
        ('00000000-0000-0000-0000-00000000000b', 'beta', 'Beta'),
        ('00000000-0000-0000-0000-00000000000c', 'gamma', 'Gamma');
      insert into platform.users (id, email) values
        ('00000000-0000-0000-0000-000000000001', 'one@example.com'),
        ('00000000-0000-0000-0000-000000000002', 'two@example.com'),
        ('00000000-0000-0000-0000-000000000003', 'three@example.com'),
        ('00000000-0000-0000-0000-000000000004', 'four@example.com');
      insert into platform.organization_members (organization_id, user_id, role, created_at) values
        ('00000000-0000-0000-0000-00000000000b', '00000000-0000-0000-0000-000000000001', 'owner', '2024-02-01'),
        ('00000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-000000000001', 'member', '2024-01-01'),
        ('00000000-0000-0000-0000-00000000000c', '00000000-0000-0000-0000-000000000003', 'admin', '2024-03-01'),
        ('00000000-0000-0000-0000-00000000000c', '00000000-0000-0000-0000-000000000004', 'member', '2024-05-05'),
        ('00000000-0000-0000-0000-00000000000b', '00000000-0000-0000-0000-000000000004', 'member', '2024-05-05');
    `);
    const report = await engine().apply({
      migrationName: "008_add_active_org_tracking",
      actor: ACTOR,
    });
    expect(report.results).toMatchObject([
      { migrationName: "008_add_active_org_tracking", status: "applied" },
    ]);

    const { rows } = await client.query(
      "select email, active_org_id from platform.users order by email",
    );
    expect(rows).toEqual([
      { email: "four@example.com", active_org_id: "00000000-0000-0000-0000-00000000000b" }, // tie: the lower id
      { email: "one@example.com", active_org_id: "00000000-0000-0000-0000-00000000000a" },
      { email: "three@example.com", active_org_id: "00000000-0000-0000-0000-00000000000c" },
      { email: "two@example.com", active_org_id: null }, // no membership
    ]);
    const items = await catalog();
    expect(items).toContain(
      "index CREATE INDEX users_active_org_id_idx ON platform.users USING btree (active_org_id)",
    );
    expect(items).toContain(
      "constraint platform.users users_active_org_id_fkey FOREIGN KEY (active_org_id) REFERENCES platform.organizations(id) ON DELETE SET NULL true",
    );
  });

  it("set_active_org refuses a non-member with 42501 and switches a member; get_active_org reads it", async () => {
    await engine().apply({ upTo: "007_create_audit_logs", actor: ACTOR });
    await client.query(`
      insert into platform.organizations (id, slug, name) values
        ('00000000-0000-0000-0000-00000000000a', 'alpha', 'Alpha'), ('00000000-0000-0000-0000-00000000000b', 'beta', 'Beta');
      insert into platform.users (id, email) values ('00000000-0000-0000-0000-000000000001', 'one@example.com');
      insert into platform.organization_members (organization_id, user_id) values
        ('00000000-0000-0000-0000-00000000000a', '00000000-0000-0000-0000-000000000001');
    `);
    await engine().apply({ actor: ACTOR });
    const user = "00000000-0000-0000-0000-000000000001";
    await expect(
      client.query("select platform.set_active_org($1, $2)", [
        user,
        "00000000-0000-0000-0000-00000000000b",
      ]),
    ).rejects.toMatchObject({
      code: "42501",
    });
    await client.query(
      "insert into platform.organization_members (organization_id, user_id) values ($1, $2)",
      ["00000000-0000-0000-0000-00000000000b", user],
    );
    await client.query("select platform.set_active_org($1, $2)", [
      user,
      "00000000-0000-0000-0000-00000000000b",
    ]);
    const { rows } = await client.query("select platform.get_active_org($1) as org", [user]);
    expect(rows[0].org).toBe("00000000-0000-0000-0000-00000000000b");
    await client.query("delete from platform.organizations where slug = 'beta'");
    const after = await client.query("select active_org_id from platform.users where id = $1", [
      user,
    ]);
    expect(after.rows[0].active_org_id).toBeNull();
  });

  it("rolling back 008 restores the schema exactly, and 008 applies again", async () => {
    await engine().apply({ upTo: "007_create_audit_logs", actor: ACTOR });
    const before = await catalog();
    await engine().apply({ actor: ACTOR });
    expect(await catalog()).not.toEqual(before);
    const rollback = await engine().rollback({
      migrationName: "008_add_active_org_tracking",
      actor: ACTOR,
    });
    expect(rollback.status).toBe("rolled_back");
    expect(await catalog()).toEqual(before);
    expect((await engine().apply({ actor: ACTOR })).results.map((r) => r.status)).toEqual([
      "applied",
    ]);
  });

  it("every migration's down section restores the schema as it was before it", async () => {
    const names = (await source.load()).migrations
      .map((m) => m.name)
      .filter((n) => !n.startsWith("000"));
    await engine().apply({ upTo: "000_platform_migrations_tracking", actor: ACTOR });
    const snapshots = [await catalog()];
    for (const name of names) {
      await engine().apply({ migrationName: name, actor: ACTOR });
      snapshots.push(await catalog());
    }
    for (const name of [...names].reverse()) {
      snapshots.pop();
      expect((await engine().rollback({ migrationName: name, actor: ACTOR })).status).toBe(
        "rolled_back",
      );
      expect(await catalog()).toEqual(snapshots.at(-1));
    }
  });

  it("baselines 001–007 applied by hand, then applies 008", async () => {
    // The state a one-shot migration server left: the schema, but no record of it.
    const { migrations } = await source.load();
    await client.query("create schema platform");
    for (const m of migrations.filter((m) => m.name >= "001" && m.name < "008")) {
      await client.query(`begin; ${m.up}; commit;`);
    }
    const status = await engine().list();
    expect(status.pending.map((m) => m.name)).toHaveLength(9);

    const baseline = await engine().baseline({ upTo: "007_create_audit_logs", actor: "operator" });
    expect(baseline.results.map((r) => r.status)).toEqual(Array(8).fill("baselined"));
    const events = await client.query(
      "select migration_name, action, actor from platform.schema_migration_events order by id",
    );
    expect(events.rows).toHaveLength(8);
    expect(events.rows.every((e) => e.action === "baseline" && e.actor === "operator")).toBe(true);

    const report = await engine().apply({ actor: "deploy" });
    expect(report.results.map((r) => [r.migrationName, r.status])).toEqual([
      ["008_add_active_org_tracking", "applied"],
    ]);
    const column = await client.query(
      "select 1 from information_schema.columns where table_schema = 'platform' and table_name = 'users' and column_name = 'active_org_id'",
    );
    expect(column.rowCount).toBe(1);
  });
});

describe("the platform migrations on PGlite", () => {
  it("all apply, 008 rolls back and applies again", async () => {
    const pglite = await PGlite.create();
    const executor = createPGliteExecutor({ pglite });
    try {
      const engine = createMigrationEngine({ executor, source });
      expect((await engine.apply({ actor: ACTOR })).failed).toBeNull();
      expect(
        (await engine.rollback({ migrationName: "008_add_active_org_tracking", actor: ACTOR }))
          .status,
      ).toBe("rolled_back");
      expect((await engine.apply({ actor: ACTOR })).results.map((r) => r.status)).toEqual([
        "applied",
      ]);
      const { rows } = await pglite.query<{ n: number }>(
        "select count(*)::int as n from platform.schema_migrations where status = 'applied'",
      );
      expect(rows[0]?.n).toBe(9);
    } finally {
      await pglite.close();
    }
  });
});
