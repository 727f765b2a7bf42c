import { PGlite } from "@electric-sql/pglite";
import {
  checksumOf,
  type Executor,
  type MigrationTimeouts,
  type MigrationToRun,
} from "@studio/migrations-core";
import {
  createMemoryDatabase,
  describeExecutorConformance,
  MemoryExecutor,
} from "@studio/migrations-core/testing";
import { createTestDatabase, startPgMeta } from "@studio/test-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPGliteExecutor, createPgMetaExecutor, createPostgresExecutor } from "./index.ts";
import { type Target, targets } from "./test-targets.ts";

// One suite, every executor: their semantics cannot drift apart.

const TABLE_EXISTS = `select exists (select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = 'public' and c.relname = $1) as exists`;

async function tableExists(url: string, name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ exists: boolean }>(TABLE_EXISTS, [name])).rows[0]?.exists === true;
  } finally {
    await client.end();
  }
}

describeExecutorConformance("memory", async () => {
  const database = createMemoryDatabase();
  return {
    executor: new MemoryExecutor({ database }),
    connect: async () => new MemoryExecutor({ database, statementDelayMs: 1 }),
    tableExists: async (name) => database.tables.has(name),
    dispose: async () => {},
  };
});

describeExecutorConformance("postgres", async () => {
  const database = await createTestDatabase("conformance");
  const executors: Executor[] = [];
  const make = () => {
    const executor = createPostgresExecutor({ connection: database.url });
    executors.push(executor);
    return executor;
  };
  return {
    executor: make(),
    connect: async () => make(),
    tableExists: (name) => tableExists(database.url, name),
    dispose: async () => {
      await Promise.all(executors.map((e) => e.close()));
      await database.drop();
    },
  };
});

describeExecutorConformance("pglite", async () => {
  const pglite = await PGlite.create();
  return {
    executor: createPGliteExecutor({ pglite }),
    connect: async () => createPGliteExecutor({ pglite }),
    tableExists: async (name) =>
      (await pglite.query<{ exists: boolean }>(TABLE_EXISTS, [name])).rows[0]?.exists === true,
    dispose: () => pglite.close(),
  };
});

describeExecutorConformance("pg-meta", async () => {
  const database = await createTestDatabase("conformance_pgmeta");
  const server = await startPgMeta(database.url);
  return {
    executor: createPgMetaExecutor({ url: server.url }),
    connect: async () => createPgMetaExecutor({ url: server.url }),
    tableExists: (name) => tableExists(database.url, name),
    dispose: async () => {
      await server.stop();
      await database.drop();
    },
  };
});

// What the shared suite cannot ask of the in-memory executor, asked of the three on PostgreSQL
// through the Executor interface alone: the recorded SQL, rehearse, relation sizes, and the limits
// one run sets for its own migration.

const ACTOR = "conformance";

function toRun(name: string, sql: string, transactional = true): MigrationToRun {
  return { name, sql, transactional, checksum: checksumOf(sql) };
}

/** Records the session settings the migration's statements ran under, in `public.<table>`. */
const recordLimits = (table: string) =>
  `create table public.${table} as select current_setting('lock_timeout') as lock_timeout, current_setting('statement_timeout') as statement_timeout`;

describe.each(targets)("%s executor, beyond the shared suite", (kind, open) => {
  let target: Target;
  let executor: Executor;

  beforeAll(async () => {
    target = await open();
    executor = target.executor();
  });
  afterAll(async () => {
    await target?.dispose();
  });

  async function apply(migration: MigrationToRun, timeouts?: MigrationTimeouts) {
    return executor.applyMigration({
      migration,
      actor: ACTOR,
      ...(timeouts === undefined ? {} : { timeouts }),
    });
  }

  /** The tracking tables' rows, as the database holds them. */
  const tracking = async () => ({
    records: await target.query("select * from platform.schema_migrations order by migration_name"),
    events: await target.query("select * from platform.schema_migration_events order by id"),
  });

  it("readRecordedSql answers the up SQL exactly as applied, and null for a baseline", async () => {
    expect(executor.readRecordedSql).toBeTypeOf("function");
    // Blank lines, a comment, trailing spaces and no final newline: all kept as sent.
    const sql =
      "create table public.recorded (id int);  \n\n-- kept as sent\ninsert into public.recorded values (1);\r\nselect 1";
    expect(await apply(toRun("010_recorded", sql))).toMatchObject({ status: "applied" });
    await executor.recordChanges(
      [
        {
          kind: "mark_applied",
          migrationName: "011_baselined",
          checksum: checksumOf("create table public.baselined (id int);"),
          action: "baseline",
          expect: ["absent"],
        },
      ],
      ACTOR,
    );

    expect(await executor.readRecordedSql?.("010_recorded")).toBe(sql);
    expect(await executor.readRecordedSql?.("011_baselined")).toBeNull();
    expect(await executor.readRecordedSql?.("019_never_seen")).toBeNull();
    expect(await target.query("select id from public.recorded")).toEqual([{ id: 1 }]);
    expect(
      await target.query(
        "select migration_name, status from platform.schema_migrations where migration_name in ('010_recorded', '011_baselined') order by 1",
      ),
    ).toEqual([
      { migration_name: "010_recorded", status: "applied" },
      { migration_name: "011_baselined", status: "applied" },
    ]);
  });

  it("rehearse runs the migrations and leaves the schema, the data and the tracking tables as they were", async () => {
    expect(executor.rehearse).toBeTypeOf("function");
    expect(
      await apply(
        toRun(
          "020_rehearsed",
          "create table public.rehearsed (id int primary key, note text);\ninsert into public.rehearsed select g, 'note ' || g from generate_series(1, 100) g;",
        ),
      ),
    ).toMatchObject({ status: "applied" });
    const schema = async () => ({
      columns: await target.query(
        "select table_name, column_name, data_type, is_nullable, column_default from information_schema.columns where table_schema = 'public' and table_name like 'rehearsed%' order by 1, 2",
      ),
      relations: await target.query(
        "select c.relname, c.relkind::text as relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and c.relname like 'rehearsed%' order by 1",
      ),
      data: await target.query(
        "select count(*)::int as rows, md5(string_agg(id::text || ':' || note, ',' order by id)) as digest from public.rehearsed",
      ),
    });
    const before = { schema: await schema(), tracking: await tracking() };
    const state = await executor.readState();

    const outcome = await executor.rehearse?.({
      migrations: [
        {
          name: "021_extra",
          statements: [
            {
              sql: "alter table public.rehearsed add column extra int not null default 0",
              line: 2,
            },
            { sql: "create index rehearsed_note on public.rehearsed (note)", line: 3 },
          ],
        },
        {
          name: "022_more",
          statements: [
            { sql: "create table public.rehearsed_more (id int)", line: 2 },
            { sql: "insert into public.rehearsed values (1000, 'rehearsed')", line: 3 },
          ],
        },
      ],
    });

    expect(outcome?.migrations.map((m) => [m.migrationName, m.status])).toEqual([
      ["021_extra", "rehearsed"],
      ["022_more", "rehearsed"],
    ]);
    const statements = outcome?.migrations.flatMap((m) => m.statements) ?? [];
    expect(statements.map((s) => [s.line, s.error])).toEqual([
      [2, null],
      [3, null],
      [2, null],
      [3, null],
    ]);
    // It ran: adding the column took the table's ACCESS EXCLUSIVE lock.
    expect(statements[0]?.locks).toEqual([
      { relation: "public.rehearsed", kind: "table", mode: "ACCESS EXCLUSIVE" },
    ]);
    expect({ schema: await schema(), tracking: await tracking() }).toEqual(before);
    expect(await executor.readState()).toEqual(state);
  });

  it("readRelationSizes answers an existing table's rows and bytes, and a missing one as missing", async () => {
    expect(executor.readRelationSizes).toBeTypeOf("function");
    expect(
      await apply(
        toRun(
          "030_sized",
          "create table public.sized (id int primary key, payload text not null);\ninsert into public.sized select g, repeat('x', 100) from generate_series(1, 2000) g;",
        ),
      ),
    ).toMatchObject({ status: "applied" });
    await target.query("analyze public.sized");
    const [catalog] = await target.query<{ bytes: string }>(
      "select pg_total_relation_size('public.sized')::text as bytes",
    );

    const sizes = await executor.readRelationSizes?.(["public.sized", "public.not_there"]);

    expect(sizes).toEqual([
      {
        name: "public.sized",
        exists: true,
        relation: "public.sized",
        kind: "table",
        estimatedRows: 2000,
        totalBytes: Number(catalog?.bytes),
        lockHolders: [],
      },
      {
        name: "public.not_there",
        exists: false,
        relation: null,
        kind: null,
        estimatedRows: null,
        totalBytes: null,
        lockHolders: [],
      },
    ]);
    // Plausible: at least the 2,000 rows of 100 characters, and not wildly more.
    expect(sizes?.[0]?.totalBytes).toBeGreaterThan(2000 * 100);
    expect(sizes?.[0]?.totalBytes).toBeLessThan(2000 * 100 * 10);
  });

  it("runs a migration and its down under the limits one run asks for, and the next under the executor's own", async () => {
    const limited = toRun("040_limited", recordLimits("limits_up"));
    expect(await apply(limited, { lockTimeoutMs: 1234, statementTimeoutMs: 56_789 })).toMatchObject(
      { status: "applied" },
    );
    expect(await target.query("select * from public.limits_up")).toEqual([
      { lock_timeout: "1234ms", statement_timeout: "56789ms" },
    ]);

    // Only the limit asked for changes; the other stays the executor's (DEFAULT_TIMEOUTS).
    expect(
      await apply(toRun("041_lock_only", recordLimits("limits_lock_only")), { lockTimeoutMs: 250 }),
    ).toMatchObject({ status: "applied" });
    expect(await target.query("select * from public.limits_lock_only")).toEqual([
      { lock_timeout: "250ms", statement_timeout: "30min" },
    ]);

    // Nothing of an earlier run's limits is left on the connection for the next.
    const defaults = toRun("042_defaults", recordLimits("limits_defaults"));
    expect(await apply(defaults)).toMatchObject({
      status: "applied",
    });
    expect(await target.query("select * from public.limits_defaults")).toEqual([
      { lock_timeout: "5s", statement_timeout: "30min" },
    ]);

    const rolledBack = await executor.rollbackMigration({
      // The latest applied, so that it may be rolled back; its down records what it ran under.
      migration: { ...defaults, sql: recordLimits("limits_down") },
      actor: ACTOR,
      timeouts: { lockTimeoutMs: 4321, statementTimeoutMs: 98_765 },
    });
    expect(rolledBack).toMatchObject({ status: "rolled_back" });
    expect(await target.query("select * from public.limits_down")).toEqual([
      { lock_timeout: "4321ms", statement_timeout: "98765ms" },
    ]);
    expect(
      await target.query(
        "select status from platform.schema_migrations where migration_name = '042_defaults'",
      ),
    ).toEqual([{ status: "rolled_back" }]);
  });

  // Over postgres-meta each statement of a transaction:false migration is a request of its own,
  // on a new backend: the limits travel with it, as SETs in the same request.
  it("runs a transaction:false migration's statements under the limits one run asks for", async () => {
    const outcome = await apply(toRun("045_unlocked", recordLimits("limits_nontx"), false), {
      lockTimeoutMs: 2345,
      statementTimeoutMs: 67_890,
    });
    expect(outcome).toMatchObject({ status: "applied" });
    expect(await target.query("select * from public.limits_nontx")).toEqual([
      { lock_timeout: "2345ms", statement_timeout: "67890ms" },
    ]);
  });

  it("runs alike a transaction:false statement that a transaction block would change: alone", async () => {
    // Alone, LOCK fails (it only works in a transaction block); postgres-meta sends it without
    // the SETs that would put it in one.
    expect(
      await apply(toRun("046_lock_alone", "lock table public.limits_nontx in share mode", false)),
    ).toMatchObject({ status: "failed", error: { code: "25P01" } });
    // CREATE INDEX CONCURRENTLY refuses a transaction block: it runs, alone.
    expect(
      await apply(
        toRun(
          "047_concurrently",
          "create index concurrently limits_nontx_lock on public.limits_nontx (lock_timeout)",
          false,
        ),
      ),
    ).toMatchObject({ status: "applied" });
  });

  // PGlite runs PostgreSQL single-user in WebAssembly, without the timer statement_timeout needs:
  // the statement runs to its end there, so nothing is asserted of it.
  it.skipIf(kind === "pglite")(
    "fails a migration that runs longer than the statement timeout one run asks for, with 57014",
    async () => {
      const outcome = await apply(toRun("050_sleeps", "select pg_sleep(1)"), {
        statementTimeoutMs: 50,
      });

      expect(outcome).toMatchObject({
        status: "failed",
        error: { code: "57014", message: "canceling statement due to statement timeout" },
      });
      expect(
        await target.query(
          "select status, error_message from platform.schema_migrations where migration_name = '050_sleeps'",
        ),
      ).toEqual([
        { status: "failed", error_message: expect.stringContaining("statement timeout") },
      ]);
    },
  );
});
