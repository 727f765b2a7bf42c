import { describe, expect, it } from "vitest";
import { createMigrationEngine } from "./engine.ts";
import { ExecutorUnavailableError, InvalidInputError } from "./errors.ts";
import type { RunProgressEvent } from "./progress.ts";
import { loadMigrationTexts, type MigrationText } from "./sources.ts";
import {
  createMemoryDatabase,
  type InjectedFailure,
  MemoryExecutor,
  type MemoryExecutorOptions,
} from "./testing/memory-executor.ts";

const table = (name: string): MigrationText => ({
  name,
  sql: `-- migrate:up\nCREATE TABLE t_${name.slice(4)} (id int);\n-- migrate:down\nDROP TABLE t_${name.slice(4)};\n`,
});

const THREE = [table("001_a"), table("002_b"), table("003_c")];

function setup(
  texts: MigrationText[],
  options: { failures?: InjectedFailure[] } & Omit<MemoryExecutorOptions, "database"> = {},
) {
  const database = createMemoryDatabase();
  const executor = new MemoryExecutor({ database, ...options });
  const engine = createMigrationEngine({
    executor,
    source: { load: async () => loadMigrationTexts(texts) },
    lockTimeoutMs: 200,
  });
  const events: RunProgressEvent[] = [];
  const progress = (runId: string) => ({
    runId,
    listener: (e: RunProgressEvent) => events.push(e),
  });
  return { engine, database, events, progress };
}

/** `type name` per event, for compact assertions on their order. */
const sequence = (events: RunProgressEvent[]) =>
  events.map((e) =>
    "migrationName" in e
      ? `${e.type} ${e.migrationName}${e.type === "migration_finished" ? ` ${e.result.status}` : ""}`
      : e.type === "run_finished"
        ? `${e.type} ${e.outcome} ${e.completed}/${e.total}`
        : `${e.type} ${e.total}`,
  );

describe("run progress", () => {
  it("an apply reports its start, each migration as it starts and finishes, and its end", async () => {
    const { engine, database, events, progress } = setup(THREE);

    const report = await engine.apply({ actor: "t", progress: progress("run-1") });

    expect(sequence(events)).toEqual([
      "run_started 3",
      "migration_started 001_a",
      "migration_finished 001_a applied",
      "migration_started 002_b",
      "migration_finished 002_b applied",
      "migration_started 003_c",
      "migration_finished 003_c applied",
      "run_finished succeeded 3/3",
    ]);
    expect(events.every((e) => e.runId === "run-1" && e.kind === "apply")).toBe(true);
    expect(events[0]).toMatchObject({ migrationNames: ["001_a", "002_b", "003_c"] });
    expect(events[3]).toMatchObject({ index: 1, total: 3, transactional: true });
    // A finished event carries the step exactly as the report holds it.
    expect(events[4]).toMatchObject({ result: report.results[1] });
    expect([...database.tables].sort()).toEqual(["t_a", "t_b", "t_c"]);
  });

  it("each migration is reported finished before the next one starts running", async () => {
    const { engine, database } = setup(THREE);
    const tablesWhenReported: string[][] = [];
    await engine.apply({
      actor: "t",
      progress: {
        runId: "r",
        listener: (e) => {
          if (e.type === "migration_finished") tablesWhenReported.push([...database.tables]);
        },
      },
    });
    expect(tablesWhenReported).toEqual([["t_a"], ["t_a", "t_b"], ["t_a", "t_b", "t_c"]]);
  });

  it("a failed migration ends the run as failed, naming it; the skipped ones are not started", async () => {
    const { engine, events, progress } = setup(THREE, {
      failures: [{ migrationName: "002_b" }],
    });

    const report = await engine.apply({ actor: "t", progress: progress("r") });

    expect(report.failed?.migrationName).toBe("002_b");
    expect(sequence(events)).toEqual([
      "run_started 3",
      "migration_started 001_a",
      "migration_finished 001_a applied",
      "migration_started 002_b",
      "migration_finished 002_b failed",
      "run_finished failed 2/3",
    ]);
    expect(events.at(-1)).toMatchObject({ failedMigration: "002_b", error: null });
  });

  it("a run cut short by the database going away ends with the error, which the call throws", async () => {
    const { engine, events, progress } = setup(THREE, {
      failures: [{ migrationName: "002_b", mode: "crash" }],
    });

    await expect(engine.apply({ actor: "t", progress: progress("r") })).rejects.toBeInstanceOf(
      ExecutorUnavailableError,
    );
    expect(events.at(-1)).toMatchObject({
      type: "run_finished",
      outcome: "error",
      completed: 1,
      error: expect.stringContaining("injected crash"),
    });
  });

  it("rollback runs and single rollbacks report the same way, newest first", async () => {
    const { engine, events, progress } = setup(THREE);
    await engine.apply({ actor: "t" });

    await engine.rollbackMany({ steps: 2, actor: "t", progress: progress("many") });
    await engine.rollback({ migrationName: "001_a", actor: "t", progress: progress("one") });

    expect(sequence(events)).toEqual([
      "run_started 2",
      "migration_started 003_c",
      "migration_finished 003_c rolled_back",
      "migration_started 002_b",
      "migration_finished 002_b rolled_back",
      "run_finished succeeded 2/2",
      "run_started 1",
      "migration_started 001_a",
      "migration_finished 001_a rolled_back",
      "run_finished succeeded 1/1",
    ]);
    expect(events.filter((e) => e.runId === "one")).toHaveLength(4);
    expect(events.every((e) => e.kind === "rollback")).toBe(true);
  });

  it("dry runs, refusals and an apply with nothing to do report nothing", async () => {
    const { engine, events, progress } = setup(THREE);

    await engine.apply({ actor: "t", dryRun: true, progress: progress("dry") });
    await expect(
      engine.apply({ actor: "t", migrationName: "002_b", progress: progress("refused") }),
    ).rejects.toThrow(/earlier migration/);
    await engine.apply({ actor: "t" });
    await engine.apply({ actor: "t", progress: progress("nothing") });

    expect(events).toEqual([]);
  });

  it("a listener that throws does not stop the run", async () => {
    const { engine, database } = setup(THREE);

    const report = await engine.apply({
      actor: "t",
      progress: {
        runId: "r",
        listener: () => {
          throw new Error("observer broke");
        },
      },
    });

    expect(report.results.map((r) => r.status)).toEqual(["applied", "applied", "applied"]);
    expect(database.tables.size).toBe(3);
  });
});

describe("a run's own timeouts", () => {
  it("reach the executor: a shorter lock timeout gives up on a locked table sooner", async () => {
    const { engine, database } = setup([table("001_a")], { timeouts: { lockTimeoutMs: 5_000 } });
    database.lockedTables.add("t_a");

    const started = Date.now();
    const report = await engine.apply({ actor: "t", timeouts: { lockTimeoutMs: 30 } });

    expect(Date.now() - started).toBeLessThan(2_000);
    expect(report.failed?.error).toMatchObject({
      code: "55P03",
      message: "canceling statement due to lock timeout",
    });
    expect(database.tables.has("t_a")).toBe(false);
    expect(database.records.get("001_a")?.status).toBe("failed");
  });

  it("a longer lock timeout waits for the lock to be released, and applies", async () => {
    const { engine, database } = setup([table("001_a")], { timeouts: { lockTimeoutMs: 10 } });
    database.lockedTables.add("t_a");
    setTimeout(() => database.lockedTables.delete("t_a"), 100);

    const report = await engine.apply({ actor: "t", timeouts: { lockTimeoutMs: 5_000 } });

    expect(report.failed).toBeNull();
    expect(database.tables.has("t_a")).toBe(true);
  });

  it("a statement timeout cancels a statement that runs longer, for rollbacks too", async () => {
    const { engine, database } = setup([table("001_a")], { statementDelayMs: 60 });
    await engine.apply({ actor: "t" });

    const report = await engine.rollback({
      migrationName: "001_a",
      actor: "t",
      timeouts: { statementTimeoutMs: 10 },
    });

    expect(report.status).toBe("failed");
    expect(report.error?.code).toBe("57014");
    expect(database.tables.has("t_a")).toBe(true);
    expect(database.records.get("001_a")?.status).toBe("applied");
  });

  it("out-of-bounds timeouts are refused before anything runs", async () => {
    const { engine, database } = setup(THREE);

    for (const timeouts of [
      { lockTimeoutMs: 0 },
      { lockTimeoutMs: 600_001 },
      { lockTimeoutMs: 1.5 },
      { statementTimeoutMs: 86_400_001 },
    ]) {
      await expect(engine.apply({ actor: "t", timeouts })).rejects.toBeInstanceOf(
        InvalidInputError,
      );
      await expect(engine.rollbackMany({ steps: 1, actor: "t", timeouts })).rejects.toThrow(
        /Timeout(Ms)? must be a whole number of milliseconds/,
      );
    }
    expect(database.records.size).toBe(0);
  });
});
