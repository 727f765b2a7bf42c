import { describe, expect, it } from "vitest";
import { type AttemptLog, createMigrationEngine } from "./engine.ts";
import {
  ChecksumDriftError,
  EarlierPendingError,
  InvalidInputError,
  InvalidMigrationFileError,
  LockBusyError,
  MigrationBlockedError,
  MigrationNotFoundError,
  NoDownMigrationError,
  OutOfOrderError,
  RollbackOrderError,
  StateConflictError,
} from "./errors.ts";
import type { MigrationSource, MigrationText } from "./sources.ts";
import { loadMigrationTexts } from "./sources.ts";
import {
  createMemoryDatabase,
  type InjectedFailure,
  MemoryExecutor,
} from "./testing/memory-executor.ts";

const table = (n: string, opts: { down?: boolean } = {}): MigrationText => ({
  name: n,
  sql: `-- migrate:up\nCREATE TABLE t_${n.slice(4)} (id int);\n${opts.down === false ? "" : `-- migrate:down\nDROP TABLE t_${n.slice(4)};\n`}`,
});

/** A source whose files the test can edit between operations, as on disk. */
function files(...initial: MigrationText[]) {
  const texts = [...initial];
  const source: MigrationSource = { load: async () => loadMigrationTexts(texts) };
  return {
    source,
    texts,
    set(text: MigrationText) {
      const i = texts.findIndex((t) => t.name === text.name);
      if (i === -1) texts.push(text);
      else texts[i] = text;
    },
  };
}

function setup(
  texts: MigrationText[],
  options: { failures?: InjectedFailure[]; lockTimeoutMs?: number } = {},
) {
  const database = createMemoryDatabase();
  const executor = new MemoryExecutor({ database, failures: options.failures ?? [] });
  const disk = files(...texts);
  const attempts: AttemptLog[] = [];
  const engine = createMigrationEngine({
    executor,
    source: disk.source,
    lockTimeoutMs: options.lockTimeoutMs ?? 200,
    onAttempt: (a) => attempts.push(a),
  });
  return { engine, database, executor, disk, attempts };
}

const ACTOR = "ops@example";

describe("apply", () => {
  it("applies every pending migration in order, recording each with the actor", async () => {
    const { engine, database } = setup([table("002_b"), table("001_a"), table("003_c")]);
    const report = await engine.apply({ actor: ACTOR });
    expect(report.failed).toBeNull();
    expect(report.results.map((r) => [r.migrationName, r.status])).toEqual([
      ["001_a", "applied"],
      ["002_b", "applied"],
      ["003_c", "applied"],
    ]);
    expect(database.executed).toEqual([
      "CREATE TABLE t_a (id int)",
      "CREATE TABLE t_b (id int)",
      "CREATE TABLE t_c (id int)",
    ]);
    expect(
      [...database.records.values()].map((r) => [r.migrationName, r.status, r.appliedBy]),
    ).toEqual([
      ["001_a", "applied", ACTOR],
      ["002_b", "applied", ACTOR],
      ["003_c", "applied", ACTOR],
    ]);
    expect(database.events.map((e) => [e.migrationName, e.action, e.outcome])).toEqual([
      ["001_a", "apply", "succeeded"],
      ["002_b", "apply", "succeeded"],
      ["003_c", "apply", "succeeded"],
    ]);
  });

  it("is idempotent: a second run applies nothing and runs no SQL", async () => {
    const { engine, database } = setup([table("001_a"), table("002_b")]);
    await engine.apply({ actor: ACTOR });
    const executed = database.executed.length;
    expect((await engine.apply({ actor: ACTOR })).results).toEqual([]);
    const named = await engine.apply({ migrationName: "002_b", actor: ACTOR });
    expect(named.results).toMatchObject([
      { migrationName: "002_b", status: "already_applied", executionTimeMs: null },
    ]);
    expect(database.executed).toHaveLength(executed);
    expect(database.events).toHaveLength(2);
  });

  it("applies exactly the named migration when everything before it is applied", async () => {
    const { engine, database, disk } = setup([table("001_a")]);
    await engine.apply({ actor: ACTOR });
    disk.set(table("002_b"));
    disk.set(table("003_c"));
    await engine.apply({ migrationName: "002_b", actor: ACTOR });
    expect(database.records.get("002_b")?.status).toBe("applied");
    expect(database.records.has("003_c")).toBe(false);
  });

  it("refuses a named migration while earlier ones are pending, naming them, and runs nothing", async () => {
    const { engine, database } = setup([table("001_a"), table("002_b"), table("003_c")]);
    const attempt = engine.apply({ migrationName: "003_c", actor: ACTOR });
    await expect(attempt).rejects.toBeInstanceOf(EarlierPendingError);
    await expect(attempt).rejects.toMatchObject({
      pendingBefore: ["001_a", "002_b"],
      remedy: { kind: "apply_up_to", migrationName: "003_c", lastPendingBefore: "002_b" },
      hint: expect.not.stringContaining("upTo"),
    });
    expect(database.records.size).toBe(0);
    expect(database.executed).toEqual([]);
  });

  it("applies everything up to and including upTo", async () => {
    const { engine, database } = setup([table("001_a"), table("002_b"), table("003_c")]);
    const report = await engine.apply({ upTo: "002_b", actor: ACTOR });
    expect(report.results.map((r) => r.migrationName)).toEqual(["001_a", "002_b"]);
    expect(database.records.has("003_c")).toBe(false);
  });

  it("refuses unknown targets and malformed names before touching the database", async () => {
    const { engine, database } = setup([table("001_a")]);
    await expect(engine.apply({ migrationName: "009_nope", actor: ACTOR })).rejects.toBeInstanceOf(
      MigrationNotFoundError,
    );
    await expect(engine.apply({ upTo: "009_nope", actor: ACTOR })).rejects.toBeInstanceOf(
      MigrationNotFoundError,
    );
    await expect(
      engine.apply({ migrationName: "../etc/passwd", actor: ACTOR }),
    ).rejects.toBeInstanceOf(InvalidInputError);
    await expect(
      engine.apply({ migrationName: "001_a", upTo: "001_a", actor: ACTOR }),
    ).rejects.toBeInstanceOf(InvalidInputError);
    await expect(engine.apply({ actor: " " })).rejects.toBeInstanceOf(InvalidInputError);
    expect(database.records.size).toBe(0);
  });

  it("stops at the first failure: later migrations are skipped and nothing failed is recorded as applied", async () => {
    const { engine, database, attempts } = setup([table("001_a"), table("002_b"), table("003_c")], {
      failures: [
        { migrationName: "002_b", error: { message: 'column "x" does not exist', code: "42703" } },
      ],
    });
    const report = await engine.apply({ actor: ACTOR });
    expect(report.results.map((r) => [r.migrationName, r.status])).toEqual([
      ["001_a", "applied"],
      ["002_b", "failed"],
      ["003_c", "skipped"],
    ]);
    expect(report.failed).toMatchObject({
      migrationName: "002_b",
      error: { message: 'column "x" does not exist', code: "42703" },
    });
    expect(database.records.get("002_b")).toMatchObject({
      status: "failed",
      errorMessage: 'column "x" does not exist',
    });
    expect(database.records.has("003_c")).toBe(false);
    expect([...database.tables]).toEqual(["t_a"]);
    expect(attempts.map((a) => [a.migrationName, a.outcome])).toEqual([
      ["001_a", "succeeded"],
      ["002_b", "failed"],
    ]);
  });

  it("retries a migration that failed in a transaction once its file is fixed", async () => {
    const { engine, database, disk } = setup([
      table("001_a"),
      { name: "002_b", sql: "CREATE TABLE t_b (id int);\nCREATE TABLE t_b (id int);" },
    ]);
    expect((await engine.apply({ actor: ACTOR })).failed?.migrationName).toBe("002_b");
    const status = await engine.list();
    expect(status.pending.map((m) => m.name)).toEqual(["002_b"]);
    expect(status.problems).toMatchObject([
      { kind: "failed", migrationName: "002_b", blocking: false },
    ]);
    disk.set({ name: "002_b", sql: "CREATE TABLE t_b (id int);" });
    expect((await engine.apply({ actor: ACTOR })).results.map((r) => r.status)).toEqual([
      "applied",
    ]);
    expect(database.records.get("002_b")).toMatchObject({ status: "applied", errorMessage: null });
  });

  it("blocks applies while an applied migration's file has drifted, until its checksum is accepted", async () => {
    const { engine, disk } = setup([table("001_a")]);
    await engine.apply({ actor: ACTOR });
    disk.set({ name: "001_a", sql: "-- migrate:up\nCREATE TABLE t_a (id bigint);\n" });
    disk.set(table("002_b"));
    expect((await engine.list()).problems).toMatchObject([
      { kind: "drift", migrationName: "001_a", blocking: true },
    ]);
    await expect(engine.apply({ actor: ACTOR })).rejects.toBeInstanceOf(ChecksumDriftError);
    const resolved = await engine.resolve({
      migrationName: "001_a",
      as: "accept_checksum",
      actor: ACTOR,
    });
    expect(resolved).toMatchObject({ before: "applied (drifted)", after: "applied" });
    expect((await engine.apply({ actor: ACTOR })).results.map((r) => r.migrationName)).toEqual([
      "002_b",
    ]);
  });

  it("reports an out-of-order pending migration and applies it only when explicitly allowed", async () => {
    const { engine, database, disk } = setup([table("001_a"), table("003_c")]);
    await engine.apply({ actor: ACTOR });
    disk.set(table("002_b"));
    const status = await engine.list();
    expect(status.problems).toMatchObject([{ kind: "out_of_order", migrationName: "002_b" }]);
    expect(status.pending).toMatchObject([{ name: "002_b", outOfOrder: true }]);
    await expect(engine.apply({ actor: ACTOR })).rejects.toBeInstanceOf(OutOfOrderError);
    await expect(engine.apply({ migrationName: "002_b", actor: ACTOR })).rejects.toBeInstanceOf(
      OutOfOrderError,
    );
    expect(database.records.has("002_b")).toBe(false);
    await engine.apply({ migrationName: "002_b", allowOutOfOrder: true, actor: ACTOR });
    expect(database.records.get("002_b")?.status).toBe("applied");
  });

  it("refuses to run while any migration file is invalid, and list still shows the rest", async () => {
    const { engine, database } = setup([
      table("001_a"),
      { name: "002_b", sql: "-- migrate:down\nselect 1;" },
    ]);
    await expect(engine.apply({ actor: ACTOR })).rejects.toBeInstanceOf(InvalidMigrationFileError);
    expect(database.records.size).toBe(0);
    const status = await engine.list();
    expect(status.pending.map((m) => m.name)).toEqual(["001_a"]);
    expect(status.problems).toMatchObject([
      { kind: "invalid_file", migrationName: "002_b", blocking: true },
    ]);
  });

  it("returns the plan and exact SQL on a dry run, changing nothing and taking no lock", async () => {
    const { engine, database, executor } = setup([table("001_a"), table("002_b")]);
    const held = await executor.acquireLock({ timeoutMs: 100, holder: "someone" });
    const report = await engine.apply({ dryRun: true, actor: ACTOR });
    await held.release();
    expect(report).toMatchObject({ dryRun: true, failed: null });
    expect(report.results.map((r) => [r.migrationName, r.status, r.sql])).toEqual([
      ["001_a", "would_apply", "CREATE TABLE t_a (id int);"],
      ["002_b", "would_apply", "CREATE TABLE t_b (id int);"],
    ]);
    expect(database.records.size).toBe(0);
    expect(database.events).toHaveLength(0);
    expect(database.executed).toHaveLength(0);
  });
});

describe("non-transactional migrations", () => {
  const concurrently: MigrationText = {
    name: "002_index",
    sql: "-- migrate:up transaction:false\nCREATE TABLE t_x (id int);\nCREATE INDEX CONCURRENTLY i ON t_x (id);\n-- migrate:down transaction:false\n",
  };

  it("leaves an interrupted migration visible and blocking until an operator resolves it", async () => {
    const { engine, database } = setup([table("001_a"), concurrently, table("003_c")], {
      failures: [{ migrationName: "002_index", statementIndex: 1, mode: "crash" }],
    });
    await expect(engine.apply({ actor: ACTOR })).rejects.toThrow(/Connection lost/);
    expect(database.records.get("002_index")).toMatchObject({
      status: "failed",
      executionTimeMs: null,
      appliedBy: ACTOR,
    });
    const status = await engine.list();
    expect(status.migrations.find((m) => m.name === "002_index")?.state).toBe("interrupted");
    expect(status.problems).toMatchObject([
      { kind: "interrupted", migrationName: "002_index", blocking: true },
    ]);

    const blocked = engine.apply({ actor: ACTOR });
    await expect(blocked).rejects.toBeInstanceOf(MigrationBlockedError);
    await expect(blocked).rejects.toMatchObject({ hint: expect.stringContaining("resolve") });

    const resolved = await engine.resolve({
      migrationName: "002_index",
      as: "applied",
      actor: "dba",
    });
    expect(resolved).toMatchObject({ before: "interrupted", after: "applied" });
    expect(database.events.at(-1)).toMatchObject({
      migrationName: "002_index",
      action: "resolve",
      actor: "dba",
    });
    expect((await engine.apply({ actor: ACTOR })).results.map((r) => r.migrationName)).toEqual([
      "003_c",
    ]);
  });

  it("blocks after a non-transactional failure midway, and runs it again once resolved as rolled back", async () => {
    const { engine, database } = setup([concurrently], {
      failures: [{ migrationName: "002_index", statementIndex: 1 }],
    });
    expect((await engine.apply({ actor: ACTOR })).failed?.migrationName).toBe("002_index");
    expect([...database.tables]).toEqual(["t_x"]);
    await expect(engine.apply({ actor: ACTOR })).rejects.toBeInstanceOf(MigrationBlockedError);
    database.tables.delete("t_x"); // the operator undoes the partial change by hand
    await engine.resolve({ migrationName: "002_index", as: "rolled_back", actor: "dba" });
    expect((await engine.list()).pending.map((m) => m.name)).toEqual(["002_index"]);
  });
});

describe("rollback", () => {
  it("runs the down section of the most recently applied migration", async () => {
    const { engine, database } = setup([table("001_a"), table("002_b")]);
    await engine.apply({ actor: ACTOR });
    const report = await engine.rollback({ migrationName: "002_b", actor: "undoer" });
    expect(report).toMatchObject({ status: "rolled_back", sql: "DROP TABLE t_b;\n" });
    expect(database.records.get("002_b")).toMatchObject({
      status: "rolled_back",
      rolledBackBy: "undoer",
    });
    expect([...database.tables]).toEqual(["t_a"]);
    expect((await engine.list()).pending.map((m) => m.name)).toEqual(["002_b"]);
    // Now 001 is the most recent.
    expect((await engine.rollback({ migrationName: "001_a", actor: ACTOR })).status).toBe(
      "rolled_back",
    );
  });

  it("refuses to roll back anything but the most recent, naming the one to roll back first", async () => {
    const { engine, database } = setup([table("001_a"), table("002_b")]);
    await engine.apply({ actor: ACTOR });
    const attempt = engine.rollback({ migrationName: "001_a", actor: ACTOR });
    await expect(attempt).rejects.toBeInstanceOf(RollbackOrderError);
    await expect(attempt).rejects.toMatchObject({ mustRollBackFirst: "002_b" });
    expect(database.records.get("001_a")?.status).toBe("applied");
  });

  it("refuses a migration without a down section unless marking only", async () => {
    const { engine, database } = setup([table("001_a", { down: false })]);
    await engine.apply({ actor: ACTOR });
    await expect(engine.rollback({ migrationName: "001_a", actor: ACTOR })).rejects.toBeInstanceOf(
      NoDownMigrationError,
    );
    const executed = database.executed.length;
    expect(
      (await engine.rollback({ migrationName: "001_a", markOnly: true, actor: ACTOR })).status,
    ).toBe("marked_rolled_back");
    expect(database.executed).toHaveLength(executed);
    expect(database.records.get("001_a")?.status).toBe("rolled_back");
    expect(database.events.at(-1)).toMatchObject({ action: "rollback", outcome: "succeeded" });
  });

  it("says not_applied for a migration that is not applied, and refuses unknown names", async () => {
    const { engine } = setup([table("001_a")]);
    expect((await engine.rollback({ migrationName: "001_a", actor: ACTOR })).status).toBe(
      "not_applied",
    );
    await expect(engine.rollback({ migrationName: "002_zz", actor: ACTOR })).rejects.toBeInstanceOf(
      MigrationNotFoundError,
    );
  });

  it("returns the down SQL on a dry run and changes nothing", async () => {
    const { engine, database } = setup([table("001_a")]);
    await engine.apply({ actor: ACTOR });
    const report = await engine.rollback({ migrationName: "001_a", dryRun: true, actor: ACTOR });
    expect(report).toMatchObject({
      dryRun: true,
      status: "would_roll_back",
      sql: "DROP TABLE t_a;\n",
    });
    expect(database.records.get("001_a")?.status).toBe("applied");
    expect(database.events).toHaveLength(1);
  });

  it("records a failed rollback and keeps the migration applied", async () => {
    const { engine, database, attempts } = setup([table("001_a")], {
      failures: [{ migrationName: "001_a", action: "rollback", error: { message: "cannot drop" } }],
    });
    await engine.apply({ actor: ACTOR });
    const report = await engine.rollback({ migrationName: "001_a", actor: ACTOR });
    expect(report).toMatchObject({
      status: "failed",
      error: { message: "cannot drop" },
      transactional: true,
    });
    expect(database.records.get("001_a")?.status).toBe("applied");
    expect(attempts.at(-1)).toMatchObject({
      action: "rollback",
      outcome: "failed",
      error: "cannot drop",
    });
  });

  it("says a failed transaction:false down ran outside a transaction, and leaves it failed, blocking", async () => {
    const { engine, database } = setup(
      [
        {
          name: "001_a",
          sql: "-- migrate:up\nCREATE TABLE t_a (id int);\nCREATE TABLE t_x (id int);\n-- migrate:down transaction:false\nDROP TABLE t_x;\nDROP TABLE t_a;\n",
        },
        table("002_b"),
      ],
      { failures: [{ migrationName: "001_a", action: "rollback", statementIndex: 1 }] },
    );
    await engine.apply({ migrationName: "001_a", actor: ACTOR });

    const dry = await engine.rollback({ migrationName: "001_a", dryRun: true, actor: ACTOR });
    expect(dry).toMatchObject({ status: "would_roll_back", transactional: false });
    const report = await engine.rollback({ migrationName: "001_a", actor: ACTOR });

    expect(report).toMatchObject({ status: "failed", transactional: false });
    expect(database.tables.has("t_x")).toBe(false);
    expect(database.tables.has("t_a")).toBe(true);
    expect(database.records.get("001_a")?.status).toBe("failed");
    await expect(engine.apply({ actor: ACTOR })).rejects.toBeInstanceOf(MigrationBlockedError);
  });
});

describe("baseline", () => {
  it("records migrations up to a name as applied without running them, with baseline events", async () => {
    const { engine, database } = setup([table("001_a"), table("002_b"), table("003_c")]);
    const report = await engine.baseline({ upTo: "002_b", actor: "migrator" });
    expect(report.results).toEqual([
      { migrationName: "001_a", status: "baselined" },
      { migrationName: "002_b", status: "baselined" },
    ]);
    expect(database.executed).toEqual([]);
    expect(database.events.map((e) => [e.migrationName, e.action, e.actor])).toEqual([
      ["001_a", "baseline", "migrator"],
      ["002_b", "baseline", "migrator"],
    ]);
    expect((await engine.apply({ actor: ACTOR })).results.map((r) => r.migrationName)).toEqual([
      "003_c",
    ]);
    expect(
      (await engine.baseline({ upTo: "002_b", actor: "migrator" })).results.map((r) => r.status),
    ).toEqual(["already_applied", "already_applied"]);
  });
});

describe("resolve", () => {
  it("marks a migration applied by hand and never recorded", async () => {
    const { engine, database } = setup([table("001_a")]);
    expect(
      await engine.resolve({ migrationName: "001_a", as: "applied", actor: "dba" }),
    ).toMatchObject({
      before: "pending",
      after: "applied",
    });
    expect(database.executed).toEqual([]);
  });

  it("refuses what does not fit the state", async () => {
    const { engine } = setup([table("001_a"), table("002_b")]);
    await engine.apply({ upTo: "001_a", actor: ACTOR });
    await expect(
      engine.resolve({ migrationName: "001_a", as: "applied", actor: ACTOR }),
    ).rejects.toBeInstanceOf(StateConflictError);
    await expect(
      engine.resolve({ migrationName: "001_a", as: "rolled_back", actor: ACTOR }),
    ).rejects.toBeInstanceOf(StateConflictError);
    await expect(
      engine.resolve({ migrationName: "002_b", as: "rolled_back", actor: ACTOR }),
    ).rejects.toBeInstanceOf(StateConflictError);
    await expect(
      engine.resolve({ migrationName: "001_a", as: "accept_checksum", actor: ACTOR }),
    ).rejects.toBeInstanceOf(StateConflictError);
  });
});

describe("locking", () => {
  it("fails with LOCK_BUSY naming the holder when another applier keeps the lock", async () => {
    const { engine, executor, database } = setup([table("001_a")], { lockTimeoutMs: 50 });
    const held = await executor.acquireLock({ timeoutMs: 10, holder: "cli:deploy@ci" });
    const attempt = engine.apply({ actor: ACTOR });
    await expect(attempt).rejects.toBeInstanceOf(LockBusyError);
    await expect(attempt).rejects.toThrow(/cli:deploy@ci/);
    await held.release();
    expect(database.records.size).toBe(0);
  });

  it("applies every migration exactly once when several appliers race", async () => {
    const database = createMemoryDatabase();
    const disk = files(table("001_a"), table("002_b"), table("003_c"), table("004_d"));
    const engines = Array.from({ length: 5 }, () =>
      createMigrationEngine({
        executor: new MemoryExecutor({ database, statementDelayMs: 2 }),
        source: disk.source,
        lockTimeoutMs: 5_000,
      }),
    );
    const reports = await Promise.all(engines.map((e, i) => e.apply({ actor: `replica-${i}` })));
    const applied = reports.flatMap((r) =>
      r.results.filter((s) => s.status === "applied").map((s) => s.migrationName),
    );
    expect(applied.sort()).toEqual(["001_a", "002_b", "003_c", "004_d"]);
    expect(database.events.filter((e) => e.outcome === "succeeded")).toHaveLength(4);
  });
});

describe("history", () => {
  it("pages the audit trail newest first with a cursor", async () => {
    const { engine } = setup([table("001_a"), table("002_b"), table("003_c")]);
    await engine.apply({ actor: ACTOR });
    await engine.rollback({ migrationName: "003_c", actor: ACTOR });
    const first = await engine.history({ limit: 3 });
    expect(first.events.map((e) => `${e.action}:${e.migrationName}`)).toEqual([
      "rollback:003_c",
      "apply:003_c",
      "apply:002_b",
    ]);
    expect(first.nextCursor).not.toBeNull();
    const second = await engine.history({ limit: 3, cursor: first.nextCursor ?? undefined });
    expect(second).toMatchObject({ nextCursor: null, events: [{ migrationName: "001_a" }] });
    expect((await engine.history({ migrationName: "003_c" })).events).toHaveLength(2);
    await expect(engine.history({ limit: 0 })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(engine.history({ cursor: "x'; drop" })).rejects.toBeInstanceOf(InvalidInputError);
  });
});
