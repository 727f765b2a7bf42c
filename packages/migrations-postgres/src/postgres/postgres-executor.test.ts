import {
  createMigrationEngine,
  type Executor,
  LockBusyError,
  memorySource,
} from "@studio/migrations-core";
import { createTestDatabase, type TestDatabase } from "@studio/test-postgres";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createPostgresExecutor } from "./postgres-executor.ts";

let database: TestDatabase;
let admin: pg.Client;
const executors: Executor[] = [];

beforeEach(async () => {
  database = await createTestDatabase("postgres_executor");
  admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
});
afterEach(async () => {
  await Promise.all(executors.splice(0).map((e) => e.close()));
  await admin.end();
  await database.drop();
});

function executor(options: Partial<Parameters<typeof createPostgresExecutor>[0]> = {}): Executor {
  const made = createPostgresExecutor({ connection: database.url, ...options });
  executors.push(made);
  return made;
}

async function tables(): Promise<string[]> {
  const { rows } = await admin.query<{ name: string }>(
    "select tablename as name from pg_tables where schemaname = 'public' order by 1",
  );
  return rows.map((r) => r.name);
}

/** Terminates the backend running a query that contains `marker`, once it shows up. */
/**
 * Terminates the backend running `marker`. `alone`: only a statement sent by itself — not the
 * batch that records a `transaction:false` section as started, which carries its SQL as a value.
 */
async function terminateWhenRunning(marker: string, alone = false): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { rows } = await admin.query<{ killed: boolean }>(
      `select pg_terminate_backend(pid) as killed from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid() and state = 'active' and query like $1
          and not ($2 and query like '%schema_migrations%')`,
      [`%${marker}%`, alone],
    );
    if (rows.some((r) => r.killed)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no backend ran ${marker}`);
}

describe("PostgreSQL executor", () => {
  it("leaves no partial schema and a correct record when its connection is killed mid-migration", async () => {
    const texts = [
      {
        name: "001_killed",
        sql: "CREATE TABLE kill_a (id int);\nSELECT pg_sleep(30) AS kill_me;\nCREATE TABLE kill_b (id int);",
      },
    ];
    const engine = createMigrationEngine({ executor: executor(), source: memorySource(texts) });
    const [report] = await Promise.all([
      engine.apply({ actor: "test" }),
      terminateWhenRunning("kill_me"),
    ]);

    expect(report.failed).toMatchObject({ migrationName: "001_killed", status: "failed" });
    expect(await tables()).toEqual([]);
    const { rows } = await admin.query(
      "select status, error_message, execution_time_ms from platform.schema_migrations",
    );
    expect(rows).toMatchObject([
      { status: "failed", error_message: expect.stringMatching(/terminat/i) },
    ]);
    const events = await admin.query(
      "select action, outcome from platform.schema_migration_events",
    );
    expect(events.rows).toEqual([{ action: "apply", outcome: "failed" }]);

    texts[0] = {
      name: "001_killed",
      sql: "CREATE TABLE kill_a (id int);\nCREATE TABLE kill_b (id int);",
    };
    expect((await engine.apply({ actor: "test" })).results.map((r) => r.status)).toEqual([
      "applied",
    ]);
    expect(await tables()).toEqual(["kill_a", "kill_b"]);
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
      executor: executor(),
      source: memorySource([{ name: "001_atomic", sql }]),
    });
    const report = await engine.apply({ actor: "test" });
    expect(report.failed).toBeNull();
    const { rows } = await admin.query(
      "select atomic_sign(2) as sign, to_regclass('atomic_after') is not null as after",
    );
    expect(rows[0]).toEqual({ sign: "positive;", after: true });
  });

  it("reports an error's position within the migration's own SQL, not the batch's", async () => {
    const sql = "CREATE TABLE pos_a (id int);\nSELECT nope FROM pos_a;";
    const engine = createMigrationEngine({
      executor: executor(),
      source: memorySource([
        { name: "001_ok", sql: "CREATE TABLE pos_ok (id int);" },
        { name: "002_bad", sql },
      ]),
    });
    await engine.apply({ actor: "test", migrationName: "001_ok" });
    const report = await engine.apply({ actor: "test" });
    expect(report.failed?.error).toMatchObject({
      code: "42703",
      position: sql.indexOf("nope") + 1,
    });
    expect(await tables()).toEqual(["pos_ok"]);
  });

  it("shows a non-transactional migration killed midway as failed and blocking, with its first part in place", async () => {
    const sql =
      "-- migrate:up transaction:false\nCREATE TABLE part_a (id int);\nSELECT pg_sleep(30) AS kill_me_too;\nCREATE TABLE part_b (id int);";
    const engine = createMigrationEngine({
      executor: executor(),
      source: memorySource([{ name: "001_partial", sql }]),
    });
    const [report] = await Promise.all([
      engine.apply({ actor: "test" }),
      terminateWhenRunning("kill_me_too", true),
    ]);
    expect(report.failed?.migrationName).toBe("001_partial");
    expect(await tables()).toEqual(["part_a"]);
    const status = await engine.list();
    expect(status.problems).toMatchObject([
      { kind: "failed", migrationName: "001_partial", blocking: true },
    ]);
    await expect(engine.apply({ actor: "test" })).rejects.toMatchObject({
      code: "MIGRATION_BLOCKED",
    });
  });

  it("names the holder when the run lock stays busy, and frees it when the holder's session dies", async () => {
    const first = executor();
    const held = await first.acquireLock({ timeoutMs: 1_000, holder: "cli:alice@laptop" });
    const attempt = executor().acquireLock({ timeoutMs: 300, holder: "bob" });
    await expect(attempt).rejects.toBeInstanceOf(LockBusyError);
    await expect(attempt).rejects.toThrow(/cli:alice@laptop, backend pid \d+/);

    // The holder's process dies: Postgres ends its session and the lock with it.
    await admin.query(
      "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'studio-migrations: cli:alice@laptop'",
    );
    const next = await executor().acquireLock({ timeoutMs: 2_000, holder: "bob" });
    await next.release();
    await held.release();
  });

  it("retries a migration whose lock_timeout fired, and succeeds once the blocker is gone", async () => {
    await admin.query("create table busy (id int)");
    const blocker = new pg.Client({ connectionString: database.url });
    await blocker.connect();
    await blocker.query("begin; lock table busy in access share mode");
    const engine = createMigrationEngine({
      executor: executor({
        timeouts: { lockTimeoutMs: 100, lockRetries: 6, lockRetryDelayMs: 100 },
      }),
      source: memorySource([{ name: "001_alter", sql: "ALTER TABLE busy ADD COLUMN note text;" }]),
    });
    setTimeout(() => void blocker.query("commit").then(() => blocker.end()), 400);
    const report = await engine.apply({ actor: "test" });
    expect(report.results.map((r) => r.status)).toEqual(["applied"]);
    const events = await admin.query("select outcome from platform.schema_migration_events");
    expect(events.rows).toEqual([{ outcome: "succeeded" }]);
  });

  it("gives up after its retries when the blocker stays, recording the lock timeout", async () => {
    await admin.query("create table busy (id int)");
    const blocker = new pg.Client({ connectionString: database.url });
    await blocker.connect();
    await blocker.query("begin; lock table busy in access share mode");
    try {
      const engine = createMigrationEngine({
        executor: executor({
          timeouts: { lockTimeoutMs: 50, lockRetries: 2, lockRetryDelayMs: 20 },
        }),
        source: memorySource([
          { name: "001_alter", sql: "ALTER TABLE busy ADD COLUMN note text;" },
        ]),
      });
      const report = await engine.apply({ actor: "test" });
      expect(report.failed).toMatchObject({ error: { code: "55P03" } });
      const { rows } = await admin.query("select status from platform.schema_migrations");
      expect(rows).toEqual([{ status: "failed" }]);
    } finally {
      await blocker.query("rollback");
      await blocker.end();
    }
  });
});
