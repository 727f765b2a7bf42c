import { createHash } from "node:crypto";
import {
  createMigrationEngine,
  LockBusyError,
  type MigrationText,
  memorySource,
  StateConflictError,
} from "@studio/migrations-core";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { postgresTarget, type Target } from "./test-targets.ts";
import { TRACKING_TABLES_SQL, TRACKING_UPGRADE_SQL } from "./tracking-schema.ts";
import { RUNNER_LOCK, runnerMarker } from "./tracking-sql.ts";

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
  let target: Target;
  let side: pg.Client;
  beforeAll(async () => {
    target = await postgresTarget(kind);
    side = new pg.Client({ connectionString: target.url as string });
    await side.connect();
  });
  afterAll(async () => {
    await side?.end();
    await target?.dispose();
  });
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

  it("shows a started migration whose runner is gone as interrupted, and blocking", async () => {
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
    const other = new pg.Client({ connectionString: target.url as string });
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
