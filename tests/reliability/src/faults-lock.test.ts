import { setTimeout as sleep } from "node:timers/promises";
import { createTestDatabase, query } from "@studio/test-postgres";
import { afterAll, describe, expect, it } from "vitest";
import { applySteps, describeRun, directArgs, runCli, startCli } from "./support/cli.ts";
import { catalog, exactlyOnceViolations, tracking } from "./support/database.ts";
import {
  activeBackends,
  clientBackends,
  databaseOf,
  ReferenceCatalogs,
  runLockHolders,
  terminate,
  truthViolations,
  waitFor,
  withPauseIn,
} from "./support/faults.ts";
import {
  migrationSet,
  removeAllDirs,
  removeDir,
  writeMigrationsDir,
} from "./support/migrations.ts";
import { Figures } from "./support/summary.ts";

/**
 * The run lock lost while its holder is still running — its session terminated by an operator's
 * pg_terminate_backend, or by the server's `idle_in_transaction_session_timeout` (the lock is a
 * transaction left open, idle, for the whole run) — with a second applier coming in meanwhile.
 * Exactly once must still hold, `transaction:false` migrations included.
 */
const figures = new Figures("faults, run lock lost mid-run");
const FILES = migrationSet();
const NAMES = FILES.map((f) => f.name);
const LAST = NAMES.at(-1) as string;
const SLEEP = 2;
const reference = new ReferenceCatalogs(FILES, () => createTestDatabase("faults_lock_ref"));

afterAll(() => {
  figures.print();
  removeAllDirs();
});

describe("the run lock lost while its holder runs", () => {
  it("survives idle_in_transaction_session_timeout: a second applier still waits, and each migration runs once", async () => {
    const files = withPauseIn(FILES, migrationSet({ sleepSeconds: SLEEP }), "007_touch_projects");
    const database = await createTestDatabase("faults_lock_idle");
    const dir = writeMigrationsDir(files);
    try {
      const url = database.url;
      await query(
        url,
        `alter database "${databaseOf(url)}" set idle_in_transaction_session_timeout = '300ms'`,
      );
      const first = startCli([...directArgs(["apply"], url, dir), "--actor", "first"]);
      await waitFor(
        "007 in its pause",
        async () => (await activeBackends(url, `pg_sleep(${SLEEP})`)).length > 0,
      );
      // Well past the server's idle timeout for the lock's session, while 007 still sleeps.
      await sleep(1_000);
      figures.add("idle timeouts outlived");
      expect(await runLockHolders(url)).toHaveLength(1);
      const second = await runCli([...directArgs(["apply"], url, dir), "--actor", "second"]);
      const run = await first.done;
      expect(run.code, describeRun(run)).toBe(0);
      expect(second.code, describeRun(second)).toBe(0);
      expect(applySteps(second).every((s) => s.status === "already_applied")).toBe(true);
      expect(await exactlyOnceViolations(url, files)).toEqual([]);
      expect(await catalog(url)).toEqual(await reference.after(LAST));
      figures.add("faults survived");
    } finally {
      await database.drop();
      removeDir(dir);
    }
  });

  it("a transaction:false migration another applier started is not run a second time when the lock's session is killed", async () => {
    const files = withPauseIn(FILES, migrationSet({ sleepSeconds: SLEEP }), "007_touch_projects");
    const database = await createTestDatabase("faults_lock_kill");
    const dir = writeMigrationsDir(files);
    try {
      const url = database.url;
      const first = startCli([...directArgs(["apply"], url, dir), "--actor", "first"]);
      await waitFor(
        "007 in its pause",
        async () => (await activeBackends(url, `pg_sleep(${SLEEP})`)).length > 0,
      );
      const lock = (await clientBackends(url)).filter((b) =>
        b.application_name.startsWith("studio-migrations: "),
      );
      expect(
        await terminate(
          url,
          lock.map((b) => b.pid),
        ),
      ).toBe(1);
      figures.add("run lock sessions killed");
      // A second applier now gets the lock at once, and plans while the first is still in 007.
      const second = await runCli([...directArgs(["apply"], url, dir), "--actor", "second"]);
      const run = await first.done;
      // One of them ran 008; the other either found it done or was told who runs it.
      for (const r of [run, second]) {
        if (r.code === 0) continue;
        expect(r.json?.error?.code, describeRun(r)).toBe("LOCK_BUSY");
        expect(r.json?.error?.message).toContain("running 008_index_concurrently");
        figures.add("second claims on a started migration refused");
      }
      const { rows, events } = await tracking(url);
      expect(
        events
          .filter((e) => e.migration_name === "008_index_concurrently")
          .map((e) => `${e.action}:${e.outcome}`),
      ).toEqual(["apply:succeeded"]);
      expect(rows.find((r) => r.migration_name === "008_index_concurrently")?.status).toBe(
        "applied",
      );
      expect(await truthViolations(url, files)).toEqual([]);
      // Whoever was refused, a last run finishes the set.
      const last = await runCli(directArgs(["apply"], url, dir));
      expect(last.code, describeRun(last)).toBe(0);
      expect(await exactlyOnceViolations(url, files)).toEqual([]);
      expect(await catalog(url)).toEqual(await reference.after(LAST));
      figures.add("faults survived");
    } finally {
      await database.drop();
      removeDir(dir);
    }
  });
});
