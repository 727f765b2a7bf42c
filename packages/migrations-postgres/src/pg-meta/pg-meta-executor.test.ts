import { fileURLToPath } from "node:url";
import {
  createMigrationEngine,
  directorySource,
  ExecutorUnavailableError,
  type MigrationText,
  memorySource,
} from "@studio/migrations-core";
import {
  createTestDatabase,
  type PgMetaServer,
  startPgMeta,
  type TestDatabase,
} from "@studio/test-postgres";
import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { TRACKING_TABLES_SQL } from "../tracking-schema.ts";
import { createPgMetaExecutor } from "./pg-meta-executor.ts";

let database: TestDatabase;
let server: PgMetaServer;
let admin: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase("pg_meta_executor");
  server = await startPgMeta(database.url);
});
afterAll(async () => {
  await server.stop();
  await database.drop();
});
beforeEach(async () => {
  admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  await admin.query(
    "drop schema if exists platform cascade; drop schema public cascade; create schema public",
  );
});
afterEach(async () => {
  await admin.end();
});

/** A `fetch` that counts requests to /query, and lets a test interfere with chosen ones. */
function countingFetch(
  interfere?: (body: string, send: () => Promise<Response>) => Promise<Response>,
) {
  const counter = { requests: 0, fetch: undefined as unknown as typeof fetch };
  counter.fetch = async (input, init) => {
    counter.requests++;
    const send = () => fetch(input, init);
    return interfere ? interfere(String(init?.body ?? ""), send) : send();
  };
  return counter;
}

const table = (n: number): MigrationText => ({
  name: `${String(n).padStart(3, "0")}_t${n}`,
  sql: `-- migrate:up\nCREATE TABLE t${n} (id int);\n-- migrate:down\nDROP TABLE t${n};\n`,
});

async function appliedRows() {
  const { rows } = await admin.query(
    "select migration_name, status from platform.schema_migrations order by 1",
  );
  return rows;
}

describe("postgres-meta executor", () => {
  it("costs one HTTP request per applied migration, and one for a list", async () => {
    const counter = countingFetch();
    const texts = [table(1), table(2)];
    const engine = createMigrationEngine({
      executor: createPgMetaExecutor({ url: server.url, fetch: counter.fetch }),
      source: memorySource(texts),
    });
    await engine.apply({ actor: "test" }); // creates the tracking tables on the way

    texts.push(table(3), table(4), table(5), table(6), table(7));
    counter.requests = 0;
    const report = await engine.apply({ actor: "test" });
    expect(report.results.map((r) => r.status)).toEqual(Array(5).fill("applied"));
    expect(counter.requests).toBe(1 + 5); // read the state, then one per migration

    counter.requests = 0;
    await engine.list();
    expect(counter.requests).toBe(1);
    counter.requests = 0;
    expect((await engine.apply({ actor: "test" })).results).toEqual([]);
    expect(counter.requests).toBe(1);
  });

  it("refuses a transaction:false migration another applier has started, running none of it", async () => {
    const executor = createPgMetaExecutor({ url: server.url });
    const migration = {
      name: "001_concurrent",
      sql: "CREATE TABLE claimed_twice (id int);",
      transactional: false,
      checksum: "c",
    };
    // What another applier's claim leaves: its started row, not yet finished.
    await admin.query(TRACKING_TABLES_SQL);
    await admin.query(`insert into platform.schema_migrations
      (migration_name, status, applied_by, error_message, execution_time_ms, checksum)
      values ('001_concurrent', 'failed', 'replica-2', 'started by replica-2', null, 'c')`);
    await expect(executor.applyMigration({ migration, actor: "replica-1" })).rejects.toThrow(
      /replica-2, running 001_concurrent/,
    );
    const { rows } = await admin.query(
      "select to_regclass('public.claimed_twice') is null as absent, (select applied_by from platform.schema_migrations) as by",
    );
    expect(rows[0]).toEqual({ absent: true, by: "replica-2" });
  });

  it("waits for another applier's claim when asked to: already_applied once it finishes, a conflict if it fails", async () => {
    const executor = createPgMetaExecutor({ url: server.url });
    const migration = (name: string) => ({
      name,
      sql: `CREATE TABLE ${name.slice(4)} (id int);`,
      transactional: false,
      checksum: "c",
    });
    await admin.query(TRACKING_TABLES_SQL);
    await admin.query(`insert into platform.schema_migrations
      (migration_name, status, applied_by, error_message, execution_time_ms, checksum) values
      ('001_waited_ok', 'failed', 'replica-2', 'started by replica-2', null, 'c'),
      ('002_waited_bad', 'failed', 'replica-2', 'started by replica-2', null, 'c')`);
    const finishes = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 400));
      await admin.query(`update platform.schema_migrations set status = 'applied', execution_time_ms = 5
        where migration_name = '001_waited_ok'`);
      await admin.query(`update platform.schema_migrations set error_message = 'boom', execution_time_ms = 5
        where migration_name = '002_waited_bad'`);
    })();
    const [ok, bad] = await Promise.allSettled([
      executor.applyMigration({
        migration: migration("001_waited_ok"),
        actor: "r1",
        claimWaitMs: 10_000,
      }),
      executor.applyMigration({
        migration: migration("002_waited_bad"),
        actor: "r1",
        claimWaitMs: 10_000,
      }),
    ]);
    await finishes;
    expect(ok).toEqual({ status: "fulfilled", value: { status: "already_applied" } });
    expect(bad.status === "rejected" && String(bad.reason)).toMatch(/002_waited_bad is failed/);
    const { rows } = await admin.query(
      "select to_regclass('public.waited_ok') is null and to_regclass('public.waited_bad') is null as untouched",
    );
    expect(rows[0]).toEqual({ untouched: true });
    // A claim still held when the wait is up: LOCK_BUSY naming its holder, after waiting.
    await admin.query(`insert into platform.schema_migrations
      (migration_name, status, applied_by, error_message, execution_time_ms, checksum)
      values ('003_still_running', 'failed', 'replica-3', 'started by replica-3', null, 'c')`);
    await expect(
      executor.applyMigration({
        migration: migration("003_still_running"),
        actor: "r1",
        claimWaitMs: 300,
      }),
    ).rejects.toThrow(/replica-3, running 003_still_running\); gave up after \d{3,} ms/);
  });

  it("runs a transaction:false migration holding a SQL-standard function body (BEGIN ATOMIC) whole", async () => {
    const sql = [
      "-- migrate:up transaction:false",
      "CREATE TABLE atomic_t (id int);",
      "CREATE INDEX CONCURRENTLY atomic_t_id ON atomic_t (id);",
      "CREATE FUNCTION atomic_sign(x int) RETURNS text LANGUAGE sql",
      "BEGIN ATOMIC",
      "  SELECT CASE WHEN x > 0 THEN 'positive;' ELSE 'other' END;",
      "END;",
      "CREATE TABLE atomic_after (id int);",
    ].join("\n");
    const engine = createMigrationEngine({
      executor: createPgMetaExecutor({ url: server.url }),
      source: memorySource([{ name: "001_atomic", sql }]),
    });
    const report = await engine.apply({ actor: "test" });
    expect(report.failed).toBeNull();
    const { rows } = await admin.query(
      "select atomic_sign(2) as sign, to_regclass('atomic_after') is not null as after",
    );
    expect(rows[0]).toEqual({ sign: "positive;", after: true });
  });

  it("reports an error's position within the migration's own SQL, not the batch", async () => {
    const sql = "CREATE TABLE meta_pos (id int);\nSELECT nope FROM meta_pos;";
    const engine = createMigrationEngine({
      executor: createPgMetaExecutor({ url: server.url }),
      source: memorySource([{ name: "001_pos", sql }]),
    });
    const report = await engine.apply({ actor: "test" });
    expect(report.failed?.error).toMatchObject({
      code: "42703",
      position: sql.indexOf("nope") + 1,
    });
  });

  it("reports applied when the batch committed but the answer was lost", async () => {
    const counter = countingFetch(async (body, send) => {
      const response = await send();
      if (body.includes("CREATE TABLE lost")) throw new TypeError("fetch failed: socket hang up");
      return response;
    });
    const engine = createMigrationEngine({
      executor: createPgMetaExecutor({ url: server.url, fetch: counter.fetch }),
      source: memorySource([{ name: "001_lost", sql: "CREATE TABLE lost (id int);" }]),
    });
    const report = await engine.apply({ actor: "test" });
    expect(report.results).toMatchObject([{ migrationName: "001_lost", status: "applied" }]);
    expect(await appliedRows()).toEqual([{ migration_name: "001_lost", status: "applied" }]);
    const events = await admin.query("select outcome from platform.schema_migration_events");
    expect(events.rows).toEqual([{ outcome: "succeeded" }]);
  });

  it("records a failure, not a guess, when the batch failed and the answer was lost", async () => {
    const counter = countingFetch(async (body, send) => {
      const response = await send();
      if (body.includes("CREATE TABLE doomed")) throw new TypeError("fetch failed: socket hang up");
      return response;
    });
    const engine = createMigrationEngine({
      executor: createPgMetaExecutor({ url: server.url, fetch: counter.fetch }),
      source: memorySource([
        { name: "001_doomed", sql: "CREATE TABLE doomed (id int);\nSELECT 1/0;" },
      ]),
    });
    const report = await engine.apply({ actor: "test" });
    expect(report.failed).toMatchObject({
      migrationName: "001_doomed",
      error: { message: expect.stringContaining("did not commit") },
    });
    expect(await appliedRows()).toEqual([{ migration_name: "001_doomed", status: "failed" }]);
    const tables = await admin.query("select 1 from pg_tables where tablename = 'doomed'");
    expect(tables.rowCount).toBe(0);
  });

  it("treats a 408 as an unknown outcome and establishes it", async () => {
    const counter = countingFetch(async (body, send) => {
      if (body.includes("CREATE TABLE slow")) {
        await send(); // it ran, but the client was told it timed out
        return new Response(JSON.stringify({ error: "Query read timeout" }), { status: 408 });
      }
      return send();
    });
    const engine = createMigrationEngine({
      executor: createPgMetaExecutor({ url: server.url, fetch: counter.fetch }),
      source: memorySource([{ name: "001_slow", sql: "CREATE TABLE slow (id int);" }]),
    });
    expect((await engine.apply({ actor: "test" })).results.map((r) => r.status)).toEqual([
      "applied",
    ]);
  });

  it("turns 503 into EXECUTOR_UNAVAILABLE and records nothing", async () => {
    const counter = countingFetch(async (body, send) =>
      body.includes("CREATE TABLE never")
        ? new Response(JSON.stringify({ error: "too many clients" }), { status: 503 })
        : send(),
    );
    const engine = createMigrationEngine({
      executor: createPgMetaExecutor({ url: server.url, fetch: counter.fetch }),
      source: memorySource([table(1), { name: "002_never", sql: "CREATE TABLE never (id int);" }]),
    });
    await expect(engine.apply({ actor: "test" })).rejects.toBeInstanceOf(ExecutorUnavailableError);
    expect(await appliedRows()).toEqual([{ migration_name: "001_t1", status: "applied" }]);
  });

  it("refuses a request over postgres-meta's 3 MB body limit, saying so, and applies nothing", async () => {
    // 4 MB of data in one statement: more than postgres-meta takes in one request.
    const sql = `CREATE TABLE big (s text);\nINSERT INTO big VALUES ('${"x".repeat(4 * 1024 * 1024)}');\n`;
    const engine = createMigrationEngine({
      executor: createPgMetaExecutor({ url: server.url }),
      source: memorySource([{ name: "001_big", sql }]),
    });
    const report = await engine.apply({ actor: "test" });
    expect(report.failed?.error?.message).toMatch(
      /^The request is 4(\.\d)? MB; postgres-meta accepts at most 3 MB per request, so it was not sent and nothing ran\./,
    );
    expect(await appliedRows()).toEqual([{ migration_name: "001_big", status: "failed" }]);
    const events = await admin.query(
      "select action, outcome from platform.schema_migration_events",
    );
    expect(events.rows).toEqual([{ action: "apply", outcome: "failed" }]);
    expect((await admin.query("select to_regclass('public.big') as t")).rows).toEqual([
      { t: null },
    ]);

    // postgres-meta does refuse it: sent anyway, it closes the connection while the body is
    // written (the outcome is then established: it did not commit), or reads it and answers that
    // it is too large; either way named with the request's size.
    const unchecked = createPgMetaExecutor({ url: server.url, maxRequestBytes: 64 * 1024 * 1024 });
    const outcome = await unchecked.applyMigration({
      migration: { name: "002_big", sql, transactional: true, checksum: "c" },
      actor: "test",
    });
    expect(outcome).toMatchObject({
      status: "failed",
      error: { message: expect.stringMatching(/the request was 4(\.\d)? MB/) },
    });
    expect(await appliedRows()).toEqual([
      { migration_name: "001_big", status: "failed" },
      { migration_name: "002_big", status: "failed" },
    ]);
    expect((await admin.query("select to_regclass('public.big') as t")).rows).toEqual([
      { t: null },
    ]);
  });

  it("fails with EXECUTOR_UNAVAILABLE when postgres-meta cannot be reached", async () => {
    const engine = createMigrationEngine({
      executor: createPgMetaExecutor({ url: "http://127.0.0.1:9", outcomeRetries: 1 }),
      source: memorySource([table(1)]),
    });
    await expect(engine.apply({ actor: "test" })).rejects.toBeInstanceOf(ExecutorUnavailableError);
  });

  it("applies the platform migrations, 008 statement by statement, and rolls 008 back", async () => {
    await admin.query("drop schema if exists platform cascade");
    const source = directorySource(
      fileURLToPath(new URL("../../../../migrations/", import.meta.url)),
    );
    const engine = createMigrationEngine({
      executor: createPgMetaExecutor({ url: server.url }),
      source,
    });
    const report = await engine.apply({ actor: "test" });
    expect(report.failed).toBeNull();
    expect(report.results).toHaveLength(9);
    expect(
      (await engine.rollback({ migrationName: "008_add_active_org_tracking", actor: "test" }))
        .status,
    ).toBe("rolled_back");
    expect((await engine.apply({ actor: "test" })).results.map((r) => r.status)).toEqual([
      "applied",
    ]);
  });
});
