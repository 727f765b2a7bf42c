import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createTestDatabase } from "@studio/test-postgres";
import { afterAll, describe, expect, it } from "vitest";
import {
  applySteps,
  type CliRun,
  describeRun,
  directArgs,
  runCli,
  startCli,
} from "./support/cli.ts";
import { FAULTS } from "./support/config.ts";
import { applyLog, catalog, tracking } from "./support/database.ts";
import {
  activeBackends,
  appliedPrefix,
  BROKEN,
  checksumOf,
  clientBackends,
  operatorSql,
  ReferenceCatalogs,
  recoverWithCli,
  runLockHolders,
  statementFailureSet,
  terminate,
  truthViolations,
  UNDO_INDEX_CONCURRENTLY,
  waitFor,
  withPauseIn,
} from "./support/faults.ts";
import {
  type MigrationFile,
  migrationSet,
  removeAllDirs,
  removeDir,
  writeMigrationsDir,
} from "./support/migrations.ts";
import { Figures } from "./support/summary.ts";

/**
 * Faults injected into real runs of the `studio-migrate` CLI (direct mode, its own OS process)
 * against the shared PostgreSQL: failing statements, connections terminated from another
 * session, and the CLI SIGKILLed mid-migration. After each, the database itself is examined.
 */
const figures = new Figures("faults, CLI against PostgreSQL");
const FILES = migrationSet();
const NAMES = FILES.map((f) => f.name);
const LAST = NAMES.at(-1) as string;
const fresh = () => createTestDatabase("faults_ref");
const reference = new ReferenceCatalogs(FILES, fresh);

afterAll(() => {
  figures.print();
  removeAllDirs();
});

const apply = (url: string, dir: string, ...extra: string[]) =>
  runCli([...directArgs(["apply"], url, dir), ...extra]);
const stepsOf = (run: CliRun) =>
  applySteps(run)
    .filter((s) => s.status !== "already_applied")
    .map((s) => `${s.migrationName}:${s.status}`);
/** The problems a `status --json` run listed. */
const problemsOf = (run: CliRun) =>
  (
    run.json?.result as
      | {
          problems?: {
            kind: string;
            migrationName: string | null;
            message: string;
            blocking: boolean;
          }[];
        }
      | undefined
  )?.problems ?? [];
const previous = (name: string) => NAMES[NAMES.indexOf(name) - 1] ?? null;
/** `pg_sleep(<seconds>)` is unique to the migration given a pause, so it marks its backend. */
const pauseOf = (seconds: number) => `pg_sleep(${seconds})`;

describe("a migration whose k-th statement fails", () => {
  const good = statementFailureSet(null, FILES);
  const goodReference = new ReferenceCatalogs(good, fresh);

  for (const k of [1, 2, 3, 4]) {
    it(`statement ${k} of 4: schema unchanged, a failed row and event with the Postgres message, 004 not run; the fixed file applies`, async () => {
      const broken = BROKEN[k - 1] as { sql: string; message: string };
      const files = statementFailureSet(k, FILES);
      const database = await createTestDatabase(`faults_k${k}`);
      const dir = writeMigrationsDir(files);
      try {
        const url = database.url;
        const setup = await apply(url, dir, "--to", "002_create_accounts");
        expect(setup.code, describeRun(setup)).toBe(0);
        const before = await catalog(url);
        const eventsBefore = (await tracking(url)).events.length;

        const run = await apply(url, dir);
        figures.add(`statement ${k} of 4 failed`);
        expect(run.code).toBe(1);
        expect(run.json?.error?.code, describeRun(run)).toBe("MIGRATION_FAILED");
        expect(run.json?.error?.message).toContain(broken.message);
        expect(stepsOf(run)).toEqual(["003_widgets:failed", "004_later:skipped"]);

        expect(await catalog(url)).toEqual(before);
        expect(await applyLog(url)).toEqual({ "001": 1, "002": 1 });
        const { rows, events } = await tracking(url);
        expect(rows.map((r) => `${r.migration_name}:${r.status}`)).toEqual([
          "001_create_app_schema:applied",
          "002_create_accounts:applied",
          "003_widgets:failed",
        ]);
        const failed = rows[2];
        expect(failed?.error_message).toBe(broken.message);
        expect(failed?.execution_time_ms).not.toBeNull();
        expect(failed?.checksum).toBe(checksumOf(files[2] as MigrationFile));
        expect(
          events.slice(eventsBefore).map((e) => [e.migration_name, e.action, e.outcome]),
        ).toEqual([["003_widgets", "apply", "failed"]]);
        expect(events.at(-1)?.error_message).toBe(broken.message);

        const status = await runCli(directArgs(["status"], url, dir));
        expect(status.code).toBe(1);
        expect(problemsOf(status)).toMatchObject([
          { kind: "failed", migrationName: "003_widgets", blocking: false },
        ]);
        expect(problemsOf(status)[0]?.message).toContain(broken.message);

        // The fix: a new file, a new checksum; applying it runs 003 and then 004.
        const fixed = good[2] as MigrationFile;
        writeFileSync(join(dir, `${fixed.name}.sql`), fixed.text);
        const again = await apply(url, dir);
        expect(again.code, describeRun(again)).toBe(0);
        expect(stepsOf(again)).toEqual(["003_widgets:applied", "004_later:applied"]);
        expect(await truthViolations(url, good)).toEqual([]);
        const after = await tracking(url);
        expect(after.rows.every((r) => r.status === "applied")).toBe(true);
        expect(after.rows[2]?.checksum).toBe(checksumOf(fixed));
        expect(after.rows[2]?.checksum).not.toBe(failed?.checksum);
        expect(
          after.events.filter((e) => e.migration_name === "003_widgets").map((e) => e.outcome),
        ).toEqual(["failed", "succeeded"]);
        expect(await catalog(url)).toEqual(await goodReference.after("004_later"));
        expect((await runCli(directArgs(["status"], url, dir))).code).toBe(0);
        figures.add("fixed and re-applied");
      } finally {
        await database.drop();
        removeDir(dir);
      }
    });
  }
});

describe("the connection killed mid-migration (pg_terminate_backend from another session)", () => {
  const targets = [
    "003_seed_accounts",
    "008_index_concurrently",
    "005_add_account_plan",
    "009_project_state",
    "011_odd_names",
    "012_invoices",
  ];
  const modes = ["its own connection", "every connection of the database", "the run lock's"];

  it(`leaves no partial state and nothing recorded that is not so, and the next run recovers (${FAULTS} faults)`, async () => {
    const sleepy = migrationSet({ sleepSeconds: 1.5 });
    for (let round = 0; round < FAULTS; round++) {
      const target = targets[round % targets.length] as string;
      const mode = modes[round % modes.length] as string;
      const label = `round ${round + 1}: ${target}, ${mode}`;
      const files = withPauseIn(FILES, sleepy, target);
      const database = await createTestDatabase("faults_kill");
      const dir = writeMigrationsDir(files);
      try {
        const url = database.url;
        const cli = startCli(directArgs(["apply"], url, dir));
        const victims = await waitFor(`${target} running`, async () => {
          const running = await activeBackends(url, pauseOf(1.5));
          if (running.length === 0) return null;
          if (mode === "its own connection") return running;
          const all = await clientBackends(url);
          if (mode === "every connection of the database") return all.map((b) => b.pid);
          return all
            .filter((b) => b.application_name.startsWith("studio-migrations: "))
            .map((b) => b.pid);
        });
        expect(await terminate(url, victims), label).toBeGreaterThan(0);
        figures.add(`connections killed (${mode})`, victims.length);
        const run = await cli.done;
        figures.add(`CLI answered ${run.json?.error?.code ?? "ok"}`);

        if (mode === "the run lock's") {
          // Losing the lock's session ends no migration: the run goes on and finishes.
          expect(run.code, `${label}: ${describeRun(run)}`).toBe(0);
        } else {
          expect(run.code, `${label}: ${describeRun(run)}`).toBe(1);
          expect(["MIGRATION_FAILED", "EXECUTOR_UNAVAILABLE"], label).toContain(
            run.json?.error?.code,
          );
          const { rows } = await tracking(url);
          expect(rows.find((r) => r.migration_name === target)?.status, label).not.toBe("applied");
          expect(await appliedPrefix(url, files), label).toBe(previous(target));
          if (target !== "008_index_concurrently") {
            expect(await catalog(url), label).toEqual(await reference.after(previous(target)));
          }
        }
        expect(await truthViolations(url, files), label).toEqual([]);
        await recoverWithCli(url, dir, files, await reference.after(LAST), figures);
        figures.add("faults survived");
      } finally {
        await database.drop();
        removeDir(dir);
      }
    }
  });
});

describe("the CLI process SIGKILLed mid-migration", () => {
  const SLEEP = 3;
  const sleepy = migrationSet({ sleepSeconds: SLEEP });
  const target = "008_index_concurrently";

  /** Starts `apply`, waits until `name` is running its pause, and kills the process with -9. */
  async function killDuring(url: string, dir: string, name: string): Promise<void> {
    const cli = startCli(directArgs(["apply"], url, dir));
    await waitFor(`${name} in its pause`, async () => {
      if ((await activeBackends(url, pauseOf(SLEEP))).length === 0) return false;
      const { rows } = await tracking(url);
      return name !== target || rows.some((r) => r.migration_name === name);
    });
    cli.child.kill("SIGKILL");
    const run = await cli.done;
    expect(run.signal).toBe("SIGKILL");
    figures.add("SIGKILLs");
    // The advisory lock goes with its holder's session: no stuck lock after a crash.
    await waitFor(
      "the run lock to be released",
      async () => (await runLockHolders(url)).length === 0,
      10_000,
    );
    figures.add("run locks released by a dead holder");
    // Postgres notices a dead client only once the statement it runs ends: until then the
    // migration is still running in the database, and shown so (SPEC §4), not as interrupted.
    await waitFor(
      "the killed runner's statement to end",
      async () => (await activeBackends(url, pauseOf(SLEEP))).length === 0,
      60_000,
    );
  }

  /** What a killed transaction:false migration must look like afterwards, and how apply refuses. */
  async function expectInterrupted(url: string, dir: string): Promise<void> {
    const { rows } = await tracking(url);
    const row = rows.find((r) => r.migration_name === target);
    expect(row?.status).toBe("failed");
    expect(row?.execution_time_ms).toBeNull();
    expect(row?.error_message).toMatch(/^started by cli:.* and not finished/);
    expect(rows.filter((r) => r.status === "applied").map((r) => r.migration_name)).toEqual(
      NAMES.slice(0, 7),
    );
    // Its first statement ran: some of its changes are in place.
    expect(await catalog(url)).toContain(
      "index CREATE INDEX accounts_created_at_idx ON app.accounts USING btree (created_at)",
    );

    const status = await runCli(directArgs(["status"], url, dir));
    expect(status.code).toBe(1);
    expect(problemsOf(status)).toMatchObject([
      { kind: "interrupted", migrationName: target, blocking: true },
    ]);
    const table = await runCli(["status", "--database-url", url, "--migrations-dir", dir]);
    expect(table.code).toBe(1);
    const text = table.stdout.replace(/\s+/g, " ");
    expect(text).toContain(`interrupted, blocks applies: ${target} was started by cli:`);
    expect(text).toContain(`studio-migrate resolve ${target} --applied`);
    expect(text).toContain(`studio-migrate resolve ${target} --rolled-back`);

    // A new applier gets the lock at once (a stuck lock would answer LOCK_BUSY) and refuses.
    for (const args of [[], ["--to", LAST], ["009_project_state"]]) {
      const refused = await apply(url, dir, ...args);
      expect(refused.code).toBe(1);
      expect(refused.json?.error?.code, describeRun(refused)).toBe("MIGRATION_BLOCKED");
      expect(refused.json?.error?.message).toContain(target);
      expect(refused.json?.error?.hint).toContain(`studio-migrate resolve ${target} --applied`);
      expect(refused.json?.error?.hint).toContain(`studio-migrate resolve ${target} --rolled-back`);
      figures.add("applies refused while interrupted");
    }
    expect(await applyLog(url)).toEqual(
      Object.fromEntries(NAMES.slice(0, 7).map((n) => [n.slice(0, 3), 1])),
    );
  }

  async function resolveAs(url: string, dir: string, as: "--applied" | "--rolled-back") {
    const resolved = await runCli([
      ...directArgs(["resolve", target, as], url, dir),
      "--actor",
      "operator",
    ]);
    expect(resolved.code, describeRun(resolved)).toBe(0);
    const { events } = await tracking(url);
    expect(events.at(-1)).toMatchObject({
      migration_name: target,
      action: "resolve",
      outcome: "succeeded",
      actor: "operator",
    });
  }

  it("during a transaction:false migration: interrupted, applies refused, undone by hand and resolved --rolled-back, then applied", async () => {
    const files = withPauseIn(FILES, sleepy, target);
    const database = await createTestDatabase("faults_sigkill_rb");
    const dir = writeMigrationsDir(files);
    try {
      const url = database.url;
      await killDuring(url, dir, target);
      await expectInterrupted(url, dir);
      await operatorSql(url, UNDO_INDEX_CONCURRENTLY);
      await resolveAs(url, dir, "--rolled-back");
      const run = await apply(url, dir);
      expect(run.code, describeRun(run)).toBe(0);
      expect(stepsOf(run)).toEqual(NAMES.slice(7).map((n) => `${n}:applied`));
      expect(await truthViolations(url, files)).toEqual([]);
      expect(await catalog(url)).toEqual(await reference.after(LAST));
      figures.add("faults survived");
    } finally {
      await database.drop();
      removeDir(dir);
    }
  });

  it("during a transaction:false migration: finished by hand and resolved --applied, then the rest applied", async () => {
    const files = withPauseIn(FILES, sleepy, target);
    const database = await createTestDatabase("faults_sigkill_ap");
    const dir = writeMigrationsDir(files);
    try {
      const url = database.url;
      await killDuring(url, dir, target);
      await expectInterrupted(url, dir);
      // The operator finishes what did not run, statement by statement, as psql would.
      await operatorSql(url, "insert into app.apply_log (migration) values ('008')");
      await operatorSql(
        url,
        "create index concurrently projects_account_id_idx on app.projects (account_id)",
      );
      await resolveAs(url, dir, "--applied");
      const run = await apply(url, dir);
      expect(run.code, describeRun(run)).toBe(0);
      expect(stepsOf(run)).toEqual(NAMES.slice(8).map((n) => `${n}:applied`));
      expect(await truthViolations(url, files)).toEqual([]);
      expect(await catalog(url)).toEqual(await reference.after(LAST));
      figures.add("faults survived");
    } finally {
      await database.drop();
      removeDir(dir);
    }
  });

  it("during a transactional migration: its unit commits whole or not at all, the lock is free, the next run finishes", async () => {
    const name = "005_add_account_plan";
    const files = withPauseIn(FILES, sleepy, name);
    const database = await createTestDatabase("faults_sigkill_tx");
    const dir = writeMigrationsDir(files);
    try {
      const url = database.url;
      await killDuring(url, dir, name);
      // The server finishes the batch it was given (or abandons it) on its own time.
      await waitFor(
        `${name}'s backend to finish`,
        async () => (await activeBackends(url, pauseOf(SLEEP))).length === 0,
      );
      expect(await truthViolations(url, files)).toEqual([]);
      const last = await appliedPrefix(url, files);
      expect([previous(name), name]).toContain(last);
      expect(await catalog(url)).toEqual(await reference.after(last));
      const status = await runCli(directArgs(["status"], url, dir));
      expect(status.code, describeRun(status)).toBe(0);
      await recoverWithCli(url, dir, files, await reference.after(LAST), figures);
      figures.add("faults survived");
    } finally {
      await database.drop();
      removeDir(dir);
    }
  });
});
