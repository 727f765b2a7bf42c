import { createHash } from "node:crypto";
import { PGlite } from "@electric-sql/pglite";
import {
  createMigrationEngine,
  LockBusyError,
  type MigrationText,
  memorySource,
  StateConflictError,
} from "@studio/migrations-core";
import { createTestDatabase } from "@studio/test-postgres";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createPGliteExecutor } from "./index.ts";
import { type PostgresTarget, postgresTarget, type Target } from "./test-targets.ts";
import { TRACKING_TABLES_SQL, TRACKING_UPGRADE_SQL } from "./tracking-schema.ts";
import { RUNNER_LOCK, runnerMarker, UNIT_LOCK } from "./tracking-sql.ts";

// SPEC §4: a started transaction:false migration whose runner is still working is shown as
// running, never as interrupted, and is not a problem; the engine tells the two apart from the
// database itself — so that nobody "resolves" a migration that is still running and runs it twice.

const NAME = "001_slow_index";
const texts: MigrationText[] = [
  {
    name: NAME,
    sql: "-- migrate:up transaction:false\nselect pg_sleep(2);\ncreate table slow (id int);\n",
  },
  { name: "002_after", sql: "-- migrate:up\ncreate table after_slow (id int);\n" },
];

describe.each(["pg", "pg-meta"] as const)("running or interrupted, over %s", (kind) => {
  let target: PostgresTarget;
  let side: pg.Client;
  beforeAll(async () => {
    target = await postgresTarget(kind);
    side = await target.connect();
  });
  afterAll(() => target?.dispose());
  beforeEach(async () => {
    await side.query(
      "drop schema if exists platform cascade; drop table if exists slow, after_slow",
    );
  });

  const engine = () =>
    createMigrationEngine({ executor: target.executor(), source: memorySource(texts) });

  it("shows a migration still being run as running, and refuses what must come after it", async () => {
    const runner = engine().apply({ actor: "replica-1", migrationName: NAME });
    const watcher = engine();
    await expect
      .poll(async () => (await watcher.list()).migrations.find((m) => m.name === NAME)?.state, {
        timeout: 5_000,
        interval: 100,
      })
      .toBe("running");
    const status = await watcher.list();
    expect(status.problems).toEqual([]);
    await expect(
      watcher.resolve({ migrationName: NAME, as: "rolled_back", actor: "ops" }),
    ).rejects.toBeInstanceOf(StateConflictError);
    if (kind === "pg-meta") {
      // No run lock spans requests: what comes after a running migration is refused, naming it.
      await expect(watcher.apply({ actor: "replica-2" })).rejects.toBeInstanceOf(LockBusyError);
    } else {
      // The runner holds the run lock: a second applier waits for it, then applies what follows.
      const after = await watcher.apply({ actor: "replica-2" });
      expect(after.results.map((r) => [r.migrationName, r.status])).toEqual([
        ["002_after", "applied"],
      ]);
    }

    expect((await runner).failed).toBeNull();
    expect((await watcher.list()).migrations.find((m) => m.name === NAME)?.state).toBe("applied");
  });

  it("is running from its claim to its record, between its statements too, and gets no interrupted event", async () => {
    // Many short statements: over postgres-meta each is a request of its own, on a new backend,
    // so most of the run is spent between statements.
    const name = "001_many_steps";
    const sql = `-- migrate:up transaction:false\n${Array.from({ length: 30 }, (_, i) => `create table many_steps.t${i} (id int);`).join("\n")}\n`;
    await side.query("drop schema if exists many_steps cascade; create schema many_steps");
    const source = memorySource([{ name, sql }]);
    const runner = createMigrationEngine({ executor: target.executor(), source });
    const second = createMigrationEngine({ executor: target.executor(), source });
    const watcher = target.executor();
    let finished = false;
    const run = runner.apply({ actor: "replica-1" }).finally(() => {
      finished = true;
    });
    const seen: string[] = [];
    let racing: Promise<unknown> | null = null;
    while (!finished) {
      const row = (await watcher.readState()).find((r) => r.migrationName === name);
      if (row === undefined) continue;
      const started = row.status === "failed" && row.executionTimeMs === null;
      seen.push(started ? (row.running ? "running" : "interrupted") : row.status);
      // Another replica applying meanwhile writes no event: over pg it waits for the run lock
      // and finds nothing to do; over postgres-meta it is refused, naming the runner.
      if (started && racing === null) {
        racing = second.apply({ actor: "replica-2" }).then(
          (report) => report.failed,
          (error: unknown) => error,
        );
      }
    }
    expect((await run).failed).toBeNull();
    expect(seen).toContain("running");
    expect(seen).not.toContain("interrupted");
    const raced = await racing;
    if (kind === "pg-meta") expect(raced).toBeInstanceOf(LockBusyError);
    else expect(raced).toBeNull();
    expect(
      await target.query(
        `select action, outcome, actor from platform.schema_migration_events where migration_name = '${name}'`,
      ),
    ).toEqual([{ action: "apply", outcome: "succeeded", actor: "replica-1" }]);
  });

  it("shows a started migration whose runner is gone as interrupted, and blocking", async () => {
    // The run of the first test has ended; a sleep of its sign of life (postgres-meta) sent just
    // before it stopped may still be running for a moment.
    await expect
      .poll(
        async () =>
          (
            await side.query(
              "select count(*)::int as n from pg_stat_activity where starts_with(query, '/* studio-migrations: running')",
            )
          ).rows[0]?.n,
        { timeout: 5_000, interval: 100 },
      )
      .toBe(0);
    await side.query(`${TRACKING_TABLES_SQL};\n${TRACKING_UPGRADE_SQL}`);
    await side.query(`insert into platform.schema_migrations
      (migration_name, status, applied_at, applied_by, error_message, execution_time_ms, checksum, transactional)
      values ('${NAME}', 'failed', now() - interval '1 minute', 'replica-1', 'started by replica-1', null, 'c', false)`);
    const status = await engine().list();
    expect(status.migrations.find((m) => m.name === NAME)?.state).toBe("interrupted");
    expect(status.problems).toMatchObject([{ kind: "interrupted", blocking: true }]);

    // Its runner's session lock — or its statement, marked, still active — is a sign of life.
    await side.query(`select pg_advisory_lock(${RUNNER_LOCK}, hashtext('${NAME}'))`);
    expect((await engine().list()).migrations.find((m) => m.name === NAME)?.state).toBe("running");
    await side.query(`select pg_advisory_unlock(${RUNNER_LOCK}, hashtext('${NAME}'))`);
    const marker = runnerMarker(createHash("md5").update(NAME).digest("hex"));
    const other = new pg.Client({ connectionString: target.url });
    await other.connect();
    const statement = other.query(`${marker}\nselect pg_sleep(1.5)`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await engine().list()).migrations.find((m) => m.name === NAME)?.state).toBe("running");
    await statement;
    await other.end();
    expect((await engine().list()).migrations.find((m) => m.name === NAME)?.state).toBe(
      "interrupted",
    );
  });
});

describe("a runner in another database of the same server", () => {
  it("is not this database's runner: its lock and its marked statement do not make this one running", async () => {
    const target = await postgresTarget("pg");
    const other = await createTestDatabase("running_elsewhere");
    const elsewhere = new pg.Client({ connectionString: other.url });
    await elsewhere.connect();
    try {
      const side = await target.connect();
      await side.query(`${TRACKING_TABLES_SQL};\n${TRACKING_UPGRADE_SQL}`);
      await side.query(`insert into platform.schema_migrations
        (migration_name, status, applied_at, applied_by, error_message, execution_time_ms, checksum, transactional)
        values ('${NAME}', 'failed', now(), 'replica-1', 'started by replica-1', null, 'c', false)`);
      const state = async () =>
        (await target.executor().readState()).find((r) => r.migrationName === NAME)?.running;
      // The same migration being run in the other database (a staging copy, another tenant's).
      await elsewhere.query(`select pg_advisory_lock(${RUNNER_LOCK}, hashtext('${NAME}'))`);
      const marker = runnerMarker(createHash("md5").update(NAME).digest("hex"));
      const statement = elsewhere.query(`${marker}\nselect pg_sleep(1)`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await state()).toBe(false);
      await statement;
    } finally {
      await elsewhere.end();
      await other.drop();
      await target.dispose();
    }
  });
});

describe.each(["pg", "pg-meta"] as const)("recording over a running migration, over %s", (kind) => {
  let target: Target;
  beforeAll(async () => {
    target = await postgresTarget(kind);
  });
  afterAll(() => target?.dispose());

  it("refuses resolve --rolled-back inside the recording batch itself, while the runner works", async () => {
    const runner = target.executor();
    const running = runner.applyMigration({
      migration: {
        name: NAME,
        sql: "select pg_sleep(3);\ncreate table slow_resolved (id int);\n",
        transactional: false,
        checksum: "c",
      },
      actor: "replica-1",
    });
    const other = target.executor();
    await expect
      .poll(async () => (await other.readState()).find((r) => r.migrationName === NAME)?.running, {
        timeout: 10_000,
        interval: 50,
      })
      .toBe(true);

    // Straight to the executor, as a resolve planned on a read made before the migration
    // started would ask: no planner in between, only the check under the lock.
    const resolve = other.recordChanges(
      [{ kind: "mark_rolled_back", migrationName: NAME, action: "resolve", expect: ["failed"] }],
      "ops",
    );
    await expect(resolve).rejects.toBeInstanceOf(StateConflictError);
    await expect(resolve).rejects.toThrow(`${NAME} is running`);
    const [row] = await target.query<{ status: string; finished: boolean }>(
      `select status, execution_time_ms is not null as finished from platform.schema_migrations where migration_name = '${NAME}'`,
    );
    expect(row).toEqual({ status: "failed", finished: false });
    expect(
      await target.query(
        "select action from platform.schema_migration_events where action = 'resolve'",
      ),
    ).toEqual([]);

    // The runner finishes undisturbed: applied once, and nothing but its own event.
    expect(await running).toMatchObject({ status: "applied" });
    expect(
      await target.query(
        `select action, outcome from platform.schema_migration_events where migration_name = '${NAME}'`,
      ),
    ).toEqual([{ action: "apply", outcome: "succeeded" }]);
    expect(
      await target.query("select to_regclass('public.slow_resolved') is not null as created"),
    ).toEqual([{ created: true }]);
  });
});

describe.each(["pg", "pg-meta"] as const)("a runner's sign of life, over %s", (kind) => {
  let target: PostgresTarget;
  let side: pg.Client;
  beforeAll(async () => {
    target = await postgresTarget(kind);
    side = await target.connect();
  });
  afterAll(() => target?.dispose());

  it("lasts until its outcome is recorded, however long the record waits for the lock", async () => {
    const runner = target.executor();
    const watcher = target.executor();
    const stateOf = async () => (await watcher.readState()).find((r) => r.migrationName === NAME);
    const running = runner.applyMigration({
      migration: {
        name: NAME,
        sql: "select pg_sleep(1);\ncreate table recorded_late (id int);\n",
        transactional: false,
        checksum: "c",
      },
      actor: "replica-1",
    });
    await expect
      .poll(async () => (await stateOf())?.running, { timeout: 10_000, interval: 50 })
      .toBe(true);
    // The unit lock held elsewhere: the runner's record of its outcome waits for it.
    await side.query(`select pg_advisory_lock(${UNIT_LOCK[0]}, ${UNIT_LOCK[1]})`);
    try {
      await expect
        .poll(
          async () =>
            (await side.query("select 1 from pg_catalog.pg_class where relname = 'recorded_late'"))
              .rowCount,
          { timeout: 10_000, interval: 50 },
        )
        .toBe(1);
      // Its statements are all done; its record waits. Still running, never interrupted.
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await stateOf()).toMatchObject({ status: "failed", running: true });
    } finally {
      await side.query(`select pg_advisory_unlock(${UNIT_LOCK[0]}, ${UNIT_LOCK[1]})`);
    }
    expect(await running).toMatchObject({ status: "applied" });
    expect(await stateOf()).toMatchObject({ status: "applied", running: false });
  });
});

describe("recording over a running migration, over PGlite", () => {
  it("lets nothing in while a section runs on its one session: a resolve waits, then finds it applied", async () => {
    const pglite = await PGlite.create();
    try {
      const runner = createPGliteExecutor({ pglite });
      const other = createPGliteExecutor({ pglite });
      await other.readState(); // its target check done: what follows goes straight to the queue
      const migration = {
        name: NAME,
        // A transaction of its own, which a unit coming in between would commit halfway (or, refused,
        // roll back): it must stay whole.
        sql: "create table own (id int);\nbegin;\ninsert into own values (1);\nselect pg_sleep(0.2);\ninsert into own values (2);\ncommit;\n",
        transactional: false,
        checksum: "c",
      };
      // The moment the section's first statement starts, a list and a resolve ask to come in.
      let asked: Promise<unknown>[] = [];
      const exec = pglite.exec.bind(pglite);
      const spy = vi.spyOn(pglite, "exec").mockImplementation((sql, options) => {
        if (asked.length === 0 && sql.startsWith("create table own")) {
          asked = [
            other.readState(),
            other.recordChanges(
              [
                {
                  kind: "mark_rolled_back",
                  migrationName: NAME,
                  action: "resolve",
                  expect: ["failed"],
                },
              ],
              "ops",
            ),
          ];
        }
        return exec(sql, options);
      });
      expect(await runner.applyMigration({ migration, actor: "replica-1" })).toMatchObject({
        status: "applied",
      });
      spy.mockRestore();
      expect(asked).toHaveLength(2);
      const [state, resolve] = await Promise.allSettled(asked);
      // Both ran after the section: the list saw it applied, never interrupted; the resolve was
      // refused, and recorded nothing.
      expect(state).toMatchObject({
        status: "fulfilled",
        value: [{ migrationName: NAME, status: "applied" }],
      });
      expect(resolve).toMatchObject({ status: "rejected", reason: expect.any(StateConflictError) });
      expect(String((resolve as PromiseRejectedResult).reason)).toContain(`${NAME} is applied`);
      expect((await pglite.query("select count(*)::int as n from own")).rows).toEqual([{ n: 2 }]);
      expect(
        (await pglite.query("select action from platform.schema_migration_events order by id"))
          .rows,
      ).toEqual([{ action: "apply" }]);
    } finally {
      await pglite.close();
    }
  });
});
