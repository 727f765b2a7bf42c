import { describe, expect, it } from "vitest";
import { type AttemptLog, createMigrationEngine } from "./engine.ts";
import {
  ChecksumDriftError,
  InvalidInputError,
  LockBusyError,
  MigrationNotFoundError,
  NoDownMigrationError,
  StateConflictError,
} from "./errors.ts";
import { loadMigrationTexts, type MigrationText } from "./sources.ts";
import {
  createMemoryDatabase,
  type InjectedFailure,
  MemoryExecutor,
} from "./testing/memory-executor.ts";

// `rollback --to <name>` and `--steps N` (SPEC §4 Rollback), against the in-memory executor: each
// test asserts what the "database" (records, events, the toy schema) holds afterwards.

const table = (n: string, opts: { down?: boolean } = {}): MigrationText => ({
  name: n,
  sql: `-- migrate:up\nCREATE TABLE t_${n.slice(4)} (id int);\n${opts.down === false ? "" : `-- migrate:down\nDROP TABLE t_${n.slice(4)};\n`}`,
});

const ACTOR = "ops@example";

/** A clock that moves one second per reading, so every applied_at is distinct and ordered. */
function ticking() {
  let t = Date.parse("2024-01-01T00:00:00Z");
  return () => {
    t += 1_000;
    return new Date(t);
  };
}

function setup(texts: MigrationText[], options: { failures?: InjectedFailure[] } = {}) {
  const database = createMemoryDatabase();
  const executor = new MemoryExecutor({
    database,
    failures: options.failures ?? [],
    now: ticking(),
  });
  const disk = [...texts];
  const attempts: AttemptLog[] = [];
  const engine = createMigrationEngine({
    executor,
    source: { load: async () => loadMigrationTexts(disk) },
    lockTimeoutMs: 100,
    onAttempt: (a) => attempts.push(a),
  });
  const statuses = () =>
    Object.fromEntries([...database.records.values()].map((r) => [r.migrationName, r.status]));
  return { engine, database, executor, disk, attempts, statuses };
}

const FOUR = [table("001_a"), table("002_b"), table("003_c"), table("004_d")];

describe("rollback --to <name>", () => {
  it("rolls back everything applied after <name>, newest first, each its own unit; <name> stays applied", async () => {
    const { engine, database, statuses, attempts } = setup(FOUR);
    await engine.apply({ actor: ACTOR });
    const eventsBefore = database.events.length;

    const report = await engine.rollbackMany({ to: "002_b", actor: "undoer" });

    expect(report).toMatchObject({ dryRun: false, to: "002_b", steps: null, failed: null });
    expect(report.results.map((r) => [r.migrationName, r.status])).toEqual([
      ["004_d", "rolled_back"],
      ["003_c", "rolled_back"],
    ]);
    expect(report.results.every((r) => r.executionTimeMs !== null)).toBe(true);
    expect(statuses()).toEqual({
      "001_a": "applied",
      "002_b": "applied",
      "003_c": "rolled_back",
      "004_d": "rolled_back",
    });
    expect([...database.tables].sort()).toEqual(["t_a", "t_b"]);
    expect(database.executed.slice(-2)).toEqual(["DROP TABLE t_d", "DROP TABLE t_c"]);
    expect(database.records.get("003_c")?.rolledBackBy).toBe("undoer");
    // One event per migration, in the order they ran.
    expect(
      database.events.slice(eventsBefore).map((e) => [e.migrationName, e.action, e.outcome]),
    ).toEqual([
      ["004_d", "rollback", "succeeded"],
      ["003_c", "rollback", "succeeded"],
    ]);
    expect(attempts.slice(-2).map((a) => [a.migrationName, a.action, a.outcome])).toEqual([
      ["004_d", "rollback", "succeeded"],
      ["003_c", "rollback", "succeeded"],
    ]);
    // The two are pending again, and apply brings them back.
    expect((await engine.list()).pending.map((m) => m.name)).toEqual(["003_c", "004_d"]);
    expect((await engine.apply({ actor: ACTOR })).results.map((r) => r.status)).toEqual([
      "applied",
      "applied",
    ]);
  });

  it("does nothing when <name> is the newest applied migration", async () => {
    const { engine, database } = setup(FOUR);
    await engine.apply({ upTo: "003_c", actor: ACTOR });
    const events = database.events.length;

    const report = await engine.rollbackMany({ to: "003_c", actor: ACTOR });

    expect(report.results).toEqual([]);
    expect(database.events).toHaveLength(events);
    expect(database.records.get("003_c")?.status).toBe("applied");
  });

  it("follows the order they were applied in: one applied out of order goes first", async () => {
    const { engine, disk, statuses } = setup([table("001_a"), table("003_c")]);
    await engine.apply({ actor: ACTOR });
    // 002 arrives later and is applied out of order, after 003.
    disk.splice(1, 0, table("002_b"));
    await engine.apply({ migrationName: "002_b", allowOutOfOrder: true, actor: ACTOR });

    const one = await engine.rollbackMany({ steps: 1, dryRun: true, actor: ACTOR });
    expect(one.results.map((r) => r.migrationName)).toEqual(["002_b"]);

    const report = await engine.rollbackMany({ to: "001_a", actor: ACTOR });
    expect(report.results.map((r) => r.migrationName)).toEqual(["002_b", "003_c"]);
    expect(statuses()).toEqual({
      "001_a": "applied",
      "002_b": "rolled_back",
      "003_c": "rolled_back",
    });
  });

  it("stops at the first failure: the ones before stay rolled back, the rest are skipped and stay applied", async () => {
    const { engine, database, statuses } = setup(FOUR, {
      failures: [{ migrationName: "003_c", action: "rollback", error: { message: "cannot drop" } }],
    });
    await engine.apply({ actor: ACTOR });
    const eventsBefore = database.events.length;

    const report = await engine.rollbackMany({ to: "001_a", actor: ACTOR });

    expect(report.results.map((r) => [r.migrationName, r.status])).toEqual([
      ["004_d", "rolled_back"],
      ["003_c", "failed"],
      ["002_b", "skipped"],
    ]);
    expect(report.failed).toMatchObject({
      migrationName: "003_c",
      status: "failed",
      error: { message: "cannot drop" },
    });
    expect(statuses()).toEqual({
      "001_a": "applied",
      "002_b": "applied",
      "003_c": "applied",
      "004_d": "rolled_back",
    });
    expect([...database.tables].sort()).toEqual(["t_a", "t_b", "t_c"]);
    expect(
      database.events.slice(eventsBefore).map((e) => [e.migrationName, e.action, e.outcome]),
    ).toEqual([
      ["004_d", "rollback", "succeeded"],
      ["003_c", "rollback", "failed"],
    ]);
  });

  it("refuses the whole run, before anything runs, when one of them has no down section", async () => {
    const { engine, database, statuses } = setup([
      table("001_a"),
      table("002_b", { down: false }),
      table("003_c"),
    ]);
    await engine.apply({ actor: ACTOR });
    const events = database.events.length;
    const executed = database.executed.length;

    const attempt = engine.rollbackMany({ to: "001_a", actor: ACTOR });

    await expect(attempt).rejects.toBeInstanceOf(NoDownMigrationError);
    await expect(attempt).rejects.toMatchObject({
      migrationName: "002_b",
      message:
        "Cannot roll back everything applied after 001_a: 002_b is among them and it has no down section; nothing was rolled back.",
    });
    expect(statuses()).toEqual({ "001_a": "applied", "002_b": "applied", "003_c": "applied" });
    expect(database.events).toHaveLength(events);
    expect(database.executed).toHaveLength(executed);
    // A run that stops short of it is fine.
    expect((await engine.rollbackMany({ steps: 1, actor: ACTOR })).results).toMatchObject([
      { migrationName: "003_c", status: "rolled_back" },
    ]);
  });

  it("with markOnly marks them all rolled back and runs no SQL", async () => {
    const { engine, database, statuses } = setup([
      table("001_a"),
      table("002_b", { down: false }),
      table("003_c"),
    ]);
    await engine.apply({ actor: ACTOR });
    const executed = database.executed.length;

    const report = await engine.rollbackMany({ to: "001_a", markOnly: true, actor: "dba" });

    expect(report.results.map((r) => [r.migrationName, r.status, r.sql])).toEqual([
      ["003_c", "marked_rolled_back", null],
      ["002_b", "marked_rolled_back", null],
    ]);
    expect(database.executed).toHaveLength(executed);
    expect([...database.tables].sort()).toEqual(["t_a", "t_b", "t_c"]);
    expect(statuses()).toEqual({
      "001_a": "applied",
      "002_b": "rolled_back",
      "003_c": "rolled_back",
    });
    expect(database.events.slice(-2).map((e) => [e.migrationName, e.action, e.actor])).toEqual([
      ["003_c", "rollback", "dba"],
      ["002_b", "rollback", "dba"],
    ]);
  });

  it("refuses a run over a drifted migration until it is resolved", async () => {
    const { engine, disk, database, statuses } = setup(FOUR);
    await engine.apply({ actor: ACTOR });
    disk[2] = { name: "003_c", sql: "-- migrate:up\nCREATE TABLE t_c (id bigint);\n" };
    const events = database.events.length;

    await expect(engine.rollbackMany({ to: "001_a", actor: ACTOR })).rejects.toBeInstanceOf(
      ChecksumDriftError,
    );
    await expect(
      engine.rollbackMany({ to: "001_a", markOnly: true, actor: ACTOR }),
    ).rejects.toMatchObject({ code: "CHECKSUM_DRIFT", migrationNames: ["003_c"] });
    expect(database.events).toHaveLength(events);
    expect(Object.values(statuses())).toEqual(["applied", "applied", "applied", "applied"]);
    // Outside the run, it does not matter.
    expect((await engine.rollbackMany({ steps: 1, actor: ACTOR })).results).toMatchObject([
      { migrationName: "004_d", status: "rolled_back" },
    ]);
    // The single rollback refuses it too (SPEC §2: drift blocks any rollback of it).
    await expect(engine.rollback({ migrationName: "003_c", actor: ACTOR })).rejects.toBeInstanceOf(
      ChecksumDriftError,
    );
  });

  it("refuses an unknown <name>, one that is not applied, and contradictory targets", async () => {
    const { engine, database } = setup(FOUR);
    await engine.apply({ upTo: "002_b", actor: ACTOR });
    const events = database.events.length;

    await expect(engine.rollbackMany({ to: "009_zz", actor: ACTOR })).rejects.toBeInstanceOf(
      MigrationNotFoundError,
    );
    const notApplied = engine.rollbackMany({ to: "003_c", actor: ACTOR });
    await expect(notApplied).rejects.toBeInstanceOf(StateConflictError);
    await expect(notApplied).rejects.toThrow(/Cannot roll back to 003_c: it is not applied/);
    await expect(
      engine.rollbackMany({ to: "001_a", steps: 1, actor: ACTOR }),
    ).rejects.toBeInstanceOf(InvalidInputError);
    await expect(engine.rollbackMany({ actor: ACTOR })).rejects.toBeInstanceOf(InvalidInputError);
    await expect(engine.rollbackMany({ to: "../etc", actor: ACTOR })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    expect(database.events).toHaveLength(events);
  });
});

describe("rollback --steps N", () => {
  it("rolls back the newest N", async () => {
    const { engine, statuses } = setup(FOUR);
    await engine.apply({ actor: ACTOR });

    const report = await engine.rollbackMany({ steps: 3, actor: ACTOR });

    expect(report).toMatchObject({ to: null, steps: 3, failed: null });
    expect(report.results.map((r) => r.migrationName)).toEqual(["004_d", "003_c", "002_b"]);
    expect(statuses()).toEqual({
      "001_a": "applied",
      "002_b": "rolled_back",
      "003_c": "rolled_back",
      "004_d": "rolled_back",
    });
  });

  it("refuses N < 1, a fraction, and more than are applied, changing nothing", async () => {
    const { engine, database } = setup(FOUR);
    await engine.apply({ upTo: "002_b", actor: ACTOR });
    const events = database.events.length;

    for (const steps of [0, -1, 1.5, Number.NaN]) {
      await expect(engine.rollbackMany({ steps, actor: ACTOR })).rejects.toBeInstanceOf(
        InvalidInputError,
      );
    }
    const tooMany = engine.rollbackMany({ steps: 3, actor: ACTOR });
    await expect(tooMany).rejects.toBeInstanceOf(StateConflictError);
    await expect(tooMany).rejects.toThrow("only 2 are applied");
    expect(database.events).toHaveLength(events);
  });

  it("returns every step's down SQL on a dry run and changes nothing", async () => {
    const { engine, database, statuses } = setup(FOUR);
    await engine.apply({ actor: ACTOR });
    const events = database.events.length;

    const report = await engine.rollbackMany({ steps: 2, dryRun: true, actor: ACTOR });

    expect(report.dryRun).toBe(true);
    expect(report.results.map((r) => [r.migrationName, r.status, r.sql])).toEqual([
      ["004_d", "would_roll_back", "DROP TABLE t_d;\n"],
      ["003_c", "would_roll_back", "DROP TABLE t_c;\n"],
    ]);
    expect(database.events).toHaveLength(events);
    expect(Object.values(statuses())).toEqual(["applied", "applied", "applied", "applied"]);
  });

  it("runs under the run lock: refused with LOCK_BUSY while another applier holds it", async () => {
    const { engine, executor, statuses } = setup(FOUR);
    await engine.apply({ actor: ACTOR });
    const held = await executor.acquireLock({ timeoutMs: 10, holder: "another run" });
    try {
      await expect(engine.rollbackMany({ steps: 2, actor: ACTOR })).rejects.toBeInstanceOf(
        LockBusyError,
      );
    } finally {
      await held.release();
    }
    expect(Object.values(statuses())).toEqual(["applied", "applied", "applied", "applied"]);
  });

  it("plans under the lock: what another run applied while it waited is part of the run", async () => {
    const { engine, executor, statuses } = setup(FOUR);
    await engine.apply({ upTo: "003_c", actor: ACTOR });
    const held = await executor.acquireLock({ timeoutMs: 10, holder: "another run" });
    const run = engine.rollbackMany({ to: "002_b", actor: ACTOR });
    // While the run waits, the other applier applies 004 under its lock.
    await executor.applyMigration({
      migration: {
        name: "004_d",
        sql: "CREATE TABLE t_d (id int);",
        transactional: true,
        checksum: loadMigrationTexts([table("004_d")]).migrations[0]?.checksum ?? "",
      },
      actor: "other",
    });
    await held.release();
    expect((await run).results.map((r) => r.migrationName)).toEqual(["004_d", "003_c"]);
    expect(statuses()).toMatchObject({ "003_c": "rolled_back", "004_d": "rolled_back" });
  });
});
