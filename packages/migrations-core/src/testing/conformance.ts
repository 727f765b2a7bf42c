import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checksumOf } from "../checksum.ts";
import { LockBusyError, StateConflictError } from "../errors.ts";
import type { Executor, MigrationToRun } from "../executor.ts";

/** What the suite needs from an executor under test, on a fresh, empty database each time. */
export interface ConformanceHarness {
  executor: Executor;
  /** Another executor on the same database, as a second process would have. */
  connect(): Promise<Executor>;
  /** Whether a table of that name exists (unqualified: the default schema). */
  tableExists(name: string): Promise<boolean>;
  /** Closes every executor it made and drops the database. */
  dispose(): Promise<void>;
}

const ACTOR = "conformance";

function migration(name: string, sql: string, transactional = true): MigrationToRun {
  return { name, sql, transactional, checksum: checksumOf(sql) };
}

/**
 * The behaviours every executor must show (see `Executor`). Run it from a test file:
 *
 *     describeExecutorConformance("postgres", async () => ({ executor, connect, tableExists, dispose }));
 *
 * Statements used: `CREATE TABLE`, `DROP TABLE`, `CREATE INDEX CONCURRENTLY` — which the in-memory
 * executor's toy schema models well enough to observe atomicity.
 */
export function describeExecutorConformance(
  name: string,
  setup: () => Promise<ConformanceHarness>,
): void {
  describe(`Executor conformance: ${name}`, () => {
    let h: ConformanceHarness;
    let x: Executor;
    beforeEach(async () => {
      h = await setup();
      x = h.executor;
    });
    afterEach(async () => {
      await h.dispose();
    });

    const recordOf = async (migrationName: string, executor: Executor = x) =>
      (await executor.readState()).find((r) => r.migrationName === migrationName);
    const eventsOf = async (migrationName: string) =>
      (await x.readEvents({ migrationName, limit: 100 })).reverse();

    it("reads an empty state from a database without tracking tables", async () => {
      expect(await x.readState()).toEqual([]);
      expect(await x.readEvents({ limit: 10 })).toEqual([]);
    });

    it("applies a migration and records it applied with a succeeded event, together", async () => {
      const m = migration("001_a", "CREATE TABLE conf_a (id int);");
      const outcome = await x.applyMigration({ migration: m, actor: ACTOR });
      expect(outcome.status).toBe("applied");
      expect(await h.tableExists("conf_a")).toBe(true);
      const record = await recordOf("001_a");
      expect(record).toMatchObject({
        status: "applied",
        appliedBy: ACTOR,
        checksum: m.checksum,
        errorMessage: null,
      });
      expect(record?.appliedAt).toBeInstanceOf(Date);
      expect(record?.executionTimeMs).toBeGreaterThanOrEqual(0);
      const events = await eventsOf("001_a");
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        action: "apply",
        outcome: "succeeded",
        actor: ACTOR,
        checksum: m.checksum,
      });
    });

    it("answers already_applied and runs nothing for an applied migration", async () => {
      const m = migration("001_a", "CREATE TABLE conf_a (id int);");
      await x.applyMigration({ migration: m, actor: ACTOR });
      // Running this SQL again would fail: a second CREATE TABLE of one name.
      expect(await x.applyMigration({ migration: m, actor: "someone-else" })).toEqual({
        status: "already_applied",
      });
      expect((await recordOf("001_a"))?.appliedBy).toBe(ACTOR);
      expect(await eventsOf("001_a")).toHaveLength(1);
    });

    it("leaves the schema as it was and records the failure when a transactional migration fails", async () => {
      const m = migration("001_b", "CREATE TABLE conf_b (id int);\nCREATE TABLE conf_b (id int);");
      const outcome = await x.applyMigration({ migration: m, actor: ACTOR });
      expect(outcome).toMatchObject({ status: "failed", error: { code: "42P07" } });
      if (outcome.status !== "failed") return;
      expect(outcome.error.message).toContain("already exists");
      expect(await h.tableExists("conf_b")).toBe(false);
      const record = await recordOf("001_b");
      expect(record).toMatchObject({
        status: "failed",
        errorMessage: outcome.error.message,
        checksum: m.checksum,
        transactional: true,
      });
      expect(record?.executionTimeMs).toEqual(expect.any(Number));
      const events = await eventsOf("001_b");
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        action: "apply",
        outcome: "failed",
        errorMessage: outcome.error.message,
      });
    });

    it("applies a fixed migration after a failed attempt and clears the error", async () => {
      await x.applyMigration({
        migration: migration("001_b", "CREATE TABLE conf_b (id int); DROP TABLE conf_none;"),
        actor: ACTOR,
      });
      await x.applyMigration({
        migration: migration(
          "001_b",
          "CREATE TABLE conf_b (id int);\nCREATE TABLE conf_b (id int);",
        ),
        actor: ACTOR,
      });
      const fixed = migration("001_b", "CREATE TABLE conf_b (id int);");
      expect((await x.applyMigration({ migration: fixed, actor: ACTOR })).status).toBe("applied");
      expect(await recordOf("001_b")).toMatchObject({
        status: "applied",
        errorMessage: null,
        checksum: fixed.checksum,
      });
      expect((await eventsOf("001_b")).map((e) => e.outcome)).toEqual([
        "failed",
        "failed",
        "succeeded",
      ]);
    });

    it("runs a non-transactional migration one statement at a time", async () => {
      const m = migration(
        "001_c",
        "CREATE TABLE conf_c (id int);\n-- needs to run outside a transaction block:\nCREATE INDEX CONCURRENTLY conf_c_id ON conf_c (id);\nCREATE TABLE conf_d (id int);",
        false,
      );
      expect((await x.applyMigration({ migration: m, actor: ACTOR })).status).toBe("applied");
      expect(await h.tableExists("conf_c")).toBe(true);
      expect(await h.tableExists("conf_d")).toBe(true);
      expect(await recordOf("001_c")).toMatchObject({ status: "applied", errorMessage: null });
      expect((await recordOf("001_c"))?.executionTimeMs).toEqual(expect.any(Number));
    });

    it("keeps the statements before the failing one of a non-transactional migration, and says so", async () => {
      const m = migration(
        "001_c",
        "CREATE TABLE conf_c (id int);\nCREATE TABLE conf_c (id int);",
        false,
      );
      const outcome = await x.applyMigration({ migration: m, actor: ACTOR });
      expect(outcome).toMatchObject({ status: "failed", error: { code: "42P07" } });
      expect(await h.tableExists("conf_c")).toBe(true);
      const record = await recordOf("001_c");
      expect(record?.status).toBe("failed");
      // A finished attempt records its time; only an interrupted one has none.
      expect(record?.executionTimeMs).toEqual(expect.any(Number));
      // What it ran outside a transaction is in the row, whatever the file says later.
      expect(record?.transactional).toBe(false);
      expect((await eventsOf("001_c"))[0]).toMatchObject({ action: "apply", outcome: "failed" });
    });

    it("refuses, under its lock, to apply again a migration that failed partway outside a transaction", async () => {
      const m = migration(
        "001_k",
        "CREATE TABLE conf_k (id int);\nCREATE TABLE conf_k (id int);",
        false,
      );
      await x.applyMigration({ migration: m, actor: ACTOR });
      // As an applier that planned before the failure was recorded would ask, whatever the file.
      for (const transactional of [false, true]) {
        await expect(
          x.applyMigration({ migration: { ...m, transactional }, actor: ACTOR }),
        ).rejects.toBeInstanceOf(StateConflictError);
      }
      expect((await recordOf("001_k"))?.status).toBe("failed");
      expect(await eventsOf("001_k")).toHaveLength(1);
    });

    it("applies a migration exactly once when two executors race for it", async () => {
      const other = await h.connect();
      const m = migration("001_r", "CREATE TABLE conf_r (id int);");
      const outcomes = await Promise.all([
        x.applyMigration({ migration: m, actor: "one" }),
        other.applyMigration({ migration: m, actor: "two" }),
      ]);
      expect(outcomes.map((o) => o.status).sort()).toEqual(["already_applied", "applied"]);
      expect((await eventsOf("001_r")).map((e) => e.outcome)).toEqual(["succeeded"]);
    });

    it("excludes a second applier while the lock is held (or says it locks per unit)", async () => {
      const other = await h.connect();
      const held = await x.acquireLock({ timeoutMs: 1_000, holder: "first-applier" });
      if (x.lockScope === "per-unit") {
        // Exclusion comes from each unit (see the race test); the run lock only marks the run.
        await (await other.acquireLock({ timeoutMs: 200, holder: "second" })).release();
        await held.release();
        return;
      }
      const attempt = other.acquireLock({ timeoutMs: 300, holder: "second" });
      await expect(attempt).rejects.toBeInstanceOf(LockBusyError);
      await held.release();
      const second = await other.acquireLock({ timeoutMs: 1_000, holder: "second" });
      await second.release();
    });

    it("lets a waiter in as soon as the holder releases", async () => {
      if (x.lockScope === "per-unit") return;
      const other = await h.connect();
      const held = await x.acquireLock({ timeoutMs: 1_000, holder: "first" });
      const waiting = other.acquireLock({ timeoutMs: 5_000, holder: "second" });
      await new Promise((r) => setTimeout(r, 100));
      await held.release();
      await (await waiting).release();
    });

    it("rolls back: runs the down SQL and marks the row rolled back, with an event", async () => {
      const up = migration("001_f", "CREATE TABLE conf_f (id int);");
      await x.applyMigration({ migration: up, actor: ACTOR });
      const down = { ...up, sql: "DROP TABLE conf_f;" };
      const outcome = await x.rollbackMigration({ migration: down, actor: "undoer" });
      expect(outcome.status).toBe("rolled_back");
      expect(await h.tableExists("conf_f")).toBe(false);
      const record = await recordOf("001_f");
      expect(record).toMatchObject({ status: "rolled_back", rolledBackBy: "undoer" });
      expect(record?.rolledBackAt).toBeInstanceOf(Date);
      expect((await eventsOf("001_f")).map((e) => [e.action, e.outcome, e.actor])).toEqual([
        ["apply", "succeeded", ACTOR],
        ["rollback", "succeeded", "undoer"],
      ]);
    });

    it("keeps the migration applied when its down SQL fails, and records the failed rollback", async () => {
      const up = migration("001_f", "CREATE TABLE conf_f (id int);");
      await x.applyMigration({ migration: up, actor: ACTOR });
      const outcome = await x.rollbackMigration({
        migration: { ...up, sql: "DROP TABLE conf_f;\nDROP TABLE conf_missing;" },
        actor: ACTOR,
      });
      expect(outcome).toMatchObject({ status: "failed", error: { code: "42P01" } });
      expect(await h.tableExists("conf_f")).toBe(true);
      expect((await recordOf("001_f"))?.status).toBe("applied");
      expect((await eventsOf("001_f")).at(-1)).toMatchObject({
        action: "rollback",
        outcome: "failed",
      });
    });

    it("records a transaction:false down section as started, and a failure partway as failed, blocking", async () => {
      const up = migration(
        "001_h",
        "CREATE TABLE conf_h1 (id int);\nCREATE TABLE conf_h2 (id int);",
      );
      await x.applyMigration({ migration: up, actor: ACTOR });
      const outcome = await x.rollbackMigration({
        migration: {
          ...up,
          sql: "DROP TABLE conf_h1;\nDROP TABLE conf_missing;\nDROP TABLE conf_h2;",
          transactional: false,
        },
        actor: "undoer",
      });
      expect(outcome).toMatchObject({ status: "failed", error: { code: "42P01" } });
      // The statement before the failing one stays done, and the row says the down is half-run.
      expect(await h.tableExists("conf_h1")).toBe(false);
      expect(await h.tableExists("conf_h2")).toBe(true);
      const record = await recordOf("001_h");
      expect(record).toMatchObject({ status: "failed", transactional: false });
      expect(record?.errorMessage).toMatch(/^rollback failed partway: .*conf_missing/);
      expect(record?.executionTimeMs).toEqual(expect.any(Number));
      expect((await eventsOf("001_h")).at(-1)).toMatchObject({
        action: "rollback",
        outcome: "failed",
        actor: "undoer",
      });
    });

    it("runs a transaction:false down section once when two rollbacks race for it", async () => {
      const up = migration("001_i", "CREATE TABLE conf_i (id int);");
      await x.applyMigration({ migration: up, actor: ACTOR });
      const other = await h.connect();
      const down = { ...up, sql: "DROP TABLE conf_i;", transactional: false };
      const outcomes = await Promise.all([
        x.rollbackMigration({ migration: down, actor: "one" }),
        other.rollbackMigration({ migration: down, actor: "two" }),
      ]);
      expect(outcomes.map((o) => o.status).sort()).toEqual(["not_applied", "rolled_back"]);
      expect(await recordOf("001_i")).toMatchObject({ status: "rolled_back", errorMessage: null });
      expect((await eventsOf("001_i")).map((e) => [e.action, e.outcome])).toEqual([
        ["apply", "succeeded"],
        ["rollback", "succeeded"],
      ]);
    });

    it("refuses, under its lock, a rollback another applied migration rests on, or a drifted one", async () => {
      for (const n of [1, 2]) {
        await x.applyMigration({
          migration: migration(`00${n}_j`, `CREATE TABLE conf_j${n} (id int);`),
          actor: ACTOR,
        });
      }
      // As a rollback planned on a read made before 002 was applied would ask.
      const first = migration("001_j", "CREATE TABLE conf_j1 (id int);");
      for (const transactional of [true, false]) {
        await expect(
          x.rollbackMigration({
            migration: { ...first, sql: "DROP TABLE conf_j1;", transactional },
            actor: ACTOR,
          }),
        ).rejects.toMatchObject({ code: "ROLLBACK_ORDER", mustRollBackFirst: "002_j" });
      }
      const second = migration("002_j", "CREATE TABLE conf_j2 (id int);");
      await expect(
        x.rollbackMigration({
          migration: { ...second, sql: "DROP TABLE conf_j2;", checksum: "edited" },
          actor: ACTOR,
        }),
      ).rejects.toMatchObject({ code: "CHECKSUM_DRIFT" });
      expect(await h.tableExists("conf_j1")).toBe(true);
      expect(await h.tableExists("conf_j2")).toBe(true);
      expect((await x.readState()).map((r) => r.status)).toEqual(["applied", "applied"]);
    });

    it("runs nothing to roll back a migration that is not applied", async () => {
      const outcome = await x.rollbackMigration({
        migration: migration("001_g", "DROP TABLE conf_g;"),
        actor: ACTOR,
      });
      expect(outcome).toEqual({ status: "not_applied" });
      expect(await x.readEvents({ limit: 10 })).toEqual([]);
    });

    it("applies a rolled-back migration again", async () => {
      const up = migration("001_f", "CREATE TABLE conf_f (id int);");
      await x.applyMigration({ migration: up, actor: ACTOR });
      await x.rollbackMigration({ migration: { ...up, sql: "DROP TABLE conf_f;" }, actor: ACTOR });
      expect((await x.applyMigration({ migration: up, actor: "again" })).status).toBe("applied");
      expect(await recordOf("001_f")).toMatchObject({
        status: "applied",
        appliedBy: "again",
        rolledBackAt: null,
        rolledBackBy: null,
      });
      expect(await h.tableExists("conf_f")).toBe(true);
    });

    it("records bookkeeping without running any SQL", async () => {
      await x.recordChanges(
        [
          {
            kind: "mark_applied",
            migrationName: "001_h",
            checksum: "c1",
            action: "baseline",
            expect: ["absent"],
          },
          {
            kind: "mark_applied",
            migrationName: "002_i",
            checksum: "c2",
            action: "baseline",
            expect: ["absent"],
          },
        ],
        "baseliner",
      );
      const state = await x.readState();
      expect(
        state
          .map((r) => [r.migrationName, r.status, r.checksum, r.appliedBy, r.executionTimeMs])
          .sort(),
      ).toEqual([
        ["001_h", "applied", "c1", "baseliner", null],
        ["002_i", "applied", "c2", "baseliner", null],
      ]);
      const events = await x.readEvents({ limit: 10 });
      expect(events.map((e) => [e.migrationName, e.action, e.outcome, e.actor]).sort()).toEqual([
        ["001_h", "baseline", "succeeded", "baseliner"],
        ["002_i", "baseline", "succeeded", "baseliner"],
      ]);
    });

    it("records no bookkeeping at all when one change's expected state does not hold", async () => {
      await x.applyMigration({
        migration: migration("001_a", "CREATE TABLE conf_a (id int);"),
        actor: ACTOR,
      });
      const attempt = x.recordChanges(
        [
          {
            kind: "mark_applied",
            migrationName: "002_j",
            checksum: "c",
            action: "baseline",
            expect: ["absent"],
          },
          {
            kind: "mark_applied",
            migrationName: "001_a",
            checksum: "c",
            action: "baseline",
            expect: ["absent"],
          },
        ],
        ACTOR,
      );
      await expect(attempt).rejects.toBeInstanceOf(StateConflictError);
      expect(await recordOf("002_j")).toBeUndefined();
      expect(await x.readEvents({ limit: 10 })).toHaveLength(1);
    });

    it("resolves: accepts a new checksum, and marks a failed migration rolled back", async () => {
      await x.applyMigration({
        migration: migration("001_a", "CREATE TABLE conf_a (id int);"),
        actor: ACTOR,
      });
      await x.recordChanges(
        [
          {
            kind: "accept_checksum",
            migrationName: "001_a",
            checksum: "new-sum",
            action: "resolve",
            expect: ["applied"],
          },
        ],
        "fixer",
      );
      expect(await recordOf("001_a")).toMatchObject({
        status: "applied",
        checksum: "new-sum",
        appliedBy: ACTOR,
      });

      await x.applyMigration({
        migration: migration("002_b", "DROP TABLE conf_none;"),
        actor: ACTOR,
      });
      await x.recordChanges(
        [
          {
            kind: "mark_rolled_back",
            migrationName: "002_b",
            action: "resolve",
            expect: ["failed"],
          },
        ],
        "fixer",
      );
      expect(await recordOf("002_b")).toMatchObject({
        status: "rolled_back",
        rolledBackBy: "fixer",
      });
      expect(
        (await x.readEvents({ limit: 2 })).map((e) => [e.migrationName, e.action, e.actor]),
      ).toEqual([
        ["002_b", "resolve", "fixer"],
        ["002_b", "apply", ACTOR],
      ]);
    });

    it("pages events newest first, by cursor and by migration", async () => {
      for (const n of ["001_p", "002_q", "003_s"]) {
        await x.applyMigration({
          migration: migration(n, `CREATE TABLE conf_${n.slice(4)} (id int);`),
          actor: ACTOR,
        });
      }
      const first = await x.readEvents({ limit: 2 });
      expect(first.map((e) => e.migrationName)).toEqual(["003_s", "002_q"]);
      const rest = await x.readEvents({ limit: 2, before: first.at(-1)?.id });
      expect(rest.map((e) => e.migrationName)).toEqual(["001_p"]);
      expect(
        (await x.readEvents({ limit: 5, migrationName: "002_q" })).map((e) => e.migrationName),
      ).toEqual(["002_q"]);
    });

    it("orders events by their numeric id, past ten of them", async () => {
      await x.recordChanges(
        Array.from({ length: 12 }, (_, i) => ({
          kind: "mark_applied" as const,
          migrationName: `${String(i + 1).padStart(3, "0")}_m`,
          checksum: "c",
          action: "baseline" as const,
          expect: ["absent" as const],
        })),
        ACTOR,
      );
      const newest = await x.readEvents({ limit: 3 });
      expect(newest.map((e) => e.migrationName)).toEqual(["012_m", "011_m", "010_m"]);
      const older = await x.readEvents({ limit: 3, before: newest.at(-1)?.id });
      expect(older.map((e) => e.migrationName)).toEqual(["009_m", "008_m", "007_m"]);
    });

    it("stores actors and error messages with quotes, backslashes and dollar quotes exactly", async () => {
      const actor = `o'brien "ops" \\ $$ $x$ ; -- /*`;
      const table = `it's_$$_\\_"q"`;
      const quoted = `"${table.replaceAll('"', '""')}"`;
      const m = migration(
        "001_q",
        `CREATE TABLE ${quoted} (id int);\nCREATE TABLE ${quoted} (id int);`,
      );
      const outcome = await x.applyMigration({ migration: m, actor });
      expect(outcome.status).toBe("failed");
      if (outcome.status !== "failed") return;
      expect(outcome.error.message).toContain(table);
      expect(await recordOf("001_q")).toMatchObject({
        appliedBy: actor,
        errorMessage: outcome.error.message,
      });
      expect((await eventsOf("001_q"))[0]).toMatchObject({
        actor,
        errorMessage: outcome.error.message,
      });
    });
  });
}
