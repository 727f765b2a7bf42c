import { createMigrationEngine, memorySource } from "@studio/migrations-core";
import {
  createTestDatabase,
  type PgMetaServer,
  startPgMeta,
  type TestDatabase,
} from "@studio/test-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPgMetaExecutor } from "./index.ts";
import {
  closesTransaction,
  groupByTransaction,
  leadingWords,
  opensTransaction,
} from "./statement-by-statement.ts";
import { postgresTarget, type Target, targets } from "./test-targets.ts";

// `transaction:false` sections, run one statement at a time: a transaction the migration runs
// itself, and concurrent index builds that fail halfway (SPEC §4 *Non-transactional migrations*).

describe("statements of a transaction:false section", () => {
  it("reads a statement's first words past its comments", () => {
    expect(leadingWords("-- why\n/* a /* nested */ note */\n  BEGIN ISOLATION LEVEL")).toEqual([
      "begin",
      "isolation",
      "level",
    ]);
    expect(opensTransaction("start transaction read write")).toBe(true);
    expect(opensTransaction("begin atomic")).toBe(true);
    expect(closesTransaction("rollback to savepoint a")).toBe(false);
    expect(closesTransaction("ROLLBACK WORK TO a")).toBe(false);
    expect(closesTransaction("end")).toBe(true);
  });

  it("keeps a transaction the migration runs itself together", () => {
    const statements = ["create table a ()", "begin", "insert 1", "commit", "select 1"].map(
      (text, line) => ({ text, line }),
    );
    expect(groupByTransaction(statements).map((g) => g.map((s) => s.text))).toEqual([
      ["create table a ()"],
      ["begin", "insert 1", "commit"],
      ["select 1"],
    ]);
  });
});

describe.each(targets)("a transaction the migration runs itself, over %s", (_, makeTarget) => {
  let target: Target;
  beforeAll(async () => {
    target = await makeTarget();
  });
  afterAll(() => target?.dispose());

  it("fails with its own error, rolled back, and leaves the connection usable", async () => {
    const engine = createMigrationEngine({
      executor: target.executor(),
      source: memorySource([
        {
          name: "001_own_transaction",
          sql: "-- migrate:up transaction:false\ncreate table own (id int);\nbegin;\ninsert into own values (1);\ninsert into own values ('not a number');\ncommit;\n",
        },
      ]),
    });
    const report = await engine.apply({ actor: "ops" });
    expect(report.failed?.error).toMatchObject({
      code: "22P02",
      message: expect.stringContaining("invalid input syntax"),
    });
    expect(await target.query("select count(*)::int as n from own")).toEqual([{ n: 0 }]);
    const status = await engine.list();
    expect(status.problems).toMatchObject([
      { kind: "failed", migrationName: "001_own_transaction", blocking: true },
    ]);
    expect(
      await target.query(
        "select action, outcome, error_message like '%invalid input syntax%' as says_why from platform.schema_migration_events",
      ),
    ).toEqual([{ action: "apply", outcome: "failed", says_why: true }]);
  });

  it("fails a section that begins a transaction and never ends it, and rolls it back", async () => {
    // The previous test's migration failed outside a transaction: looked at, and resolved.
    await createMigrationEngine({ executor: target.executor(), source: memorySource([]) }).resolve({
      migrationName: "001_own_transaction",
      as: "rolled_back",
      actor: "ops",
    });
    const engine = createMigrationEngine({
      executor: target.executor(),
      source: memorySource([
        {
          name: "001_left_open",
          sql: "-- migrate:up transaction:false\nbegin;\ncreate table left_open (id int);\n",
        },
      ]),
    });
    const report = await engine.apply({ actor: "ops" });
    expect(report.failed?.error?.message).toContain("did not end it");
    expect(await target.query("select to_regclass('public.left_open') as t")).toEqual([
      { t: null },
    ]);
  });
});

const INDEX_VALID = `select i.indisvalid as valid from pg_index i join pg_class c on c.oid = i.indexrelid
  where c.relname = 'busy_id'`;

/**
 * A concurrent index build waits, after its first phase, for every transaction that wrote to the
 * table; one left open trips the build's `lock_timeout` there, which leaves an INVALID index.
 */
async function holdWriter(url: string): Promise<pg.Client> {
  const writer = new pg.Client({ connectionString: url });
  await writer.connect();
  await writer.query("begin; insert into busy values (1)");
  return writer;
}

describe("a concurrent index build tripped by lock_timeout over postgres", () => {
  let target: Target;
  beforeAll(async () => {
    target = await postgresTarget("pg", {
      lockTimeoutMs: 300,
      lockRetries: 4,
      lockRetryDelayMs: 200,
    });
    await target.query("create table busy (id int)");
  });
  afterAll(() => target?.dispose());

  it("drops the INVALID index its failed attempt left, so the retry builds a valid one", async () => {
    const writer = await holdWriter(target.url as string);
    // The writer commits while the engine is between attempts.
    const released = new Promise((resolve) => setTimeout(resolve, 700)).then(() =>
      writer.query("commit"),
    );
    const engine = createMigrationEngine({
      executor: target.executor(),
      source: memorySource([
        {
          name: "001_index_busy",
          sql: "-- migrate:up transaction:false\ncreate index concurrently if not exists busy_id on busy (id);\n",
        },
      ]),
    });
    const report = await engine.apply({ actor: "ops" });
    await released;
    await writer.end();
    expect(report.failed).toBeNull();
    expect(await target.query(INDEX_VALID)).toEqual([{ valid: true }]);
  });
});

describe("a concurrent index build that cannot finish over postgres", () => {
  let target: Target;
  beforeAll(async () => {
    target = await postgresTarget("pg", {
      lockTimeoutMs: 200,
      lockRetries: 1,
      lockRetryDelayMs: 50,
    });
    await target.query("create table busy (id int)");
  });
  afterAll(() => target?.dispose());

  it("is a failure that names the INVALID index it could not drop, never applied", async () => {
    const writer = await holdWriter(target.url as string);
    const engine = createMigrationEngine({
      executor: target.executor(),
      source: memorySource([
        {
          name: "001_index_busy",
          sql: "-- migrate:up transaction:false\ncreate index concurrently if not exists busy_id on busy (id);\n",
        },
      ]),
    });
    const report = await engine.apply({ actor: "ops" });
    await writer.query("commit");
    await writer.end();
    expect(report.failed?.error?.message).toContain(
      "the INVALID index public.busy_id this statement left behind is still there",
    );
    expect(await target.query("select status from platform.schema_migrations")).toEqual([
      { status: "failed" },
    ]);
  });
});

describe("a concurrent index build that fails over postgres-meta", () => {
  let database: TestDatabase;
  let server: PgMetaServer;
  beforeAll(async () => {
    database = await createTestDatabase("concurrent_pg_meta");
    server = await startPgMeta(database.url);
    // postgres-meta's connections take the database's settings: a short lock_timeout there.
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    await admin.query("create table busy (id int)");
    await admin.query(
      "do $$ begin execute format('alter database %I set lock_timeout = 300', current_database()); end $$",
    );
    await admin.end();
  });
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
  });

  it("drops the INVALID index a failed build left, and builds a valid one on the retry", async () => {
    const writer = await holdWriter(database.url);
    // The writer commits as soon as the build has failed, before the engine drops what it left.
    const fetchReleasing: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const { query } = JSON.parse(String(init?.body)) as { query: string };
      // The statement itself, as the runner sends it (its marker first), not the started row.
      if (query.startsWith("/* studio-migrations: running") && query.includes("\ncreate index")) {
        await writer.query("commit");
      }
      return response;
    };
    const engine = createMigrationEngine({
      executor: createPgMetaExecutor({ url: server.url, fetch: fetchReleasing }),
      source: memorySource([
        {
          name: "001_index_busy",
          sql: "-- migrate:up transaction:false\ncreate index concurrently if not exists busy_id on busy (id);\n",
        },
      ]),
    });
    const report = await engine.apply({ actor: "ops" });
    await writer.end();
    // The build's lock timeout is retried, as over pg, once the INVALID index it left is dropped.
    expect(report.failed).toBeNull();
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    expect((await admin.query(INDEX_VALID)).rows).toEqual([{ valid: true }]);
    await admin.end();
  });
});
