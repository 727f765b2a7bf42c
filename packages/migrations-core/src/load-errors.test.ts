import { describe, expect, it } from "vitest";
import { createMigrationEngine } from "./engine.ts";
import { EarlierPendingError, InvalidMigrationFileError } from "./errors.ts";
import { fileProblemsBlocking, planApply, planBaseline, planStatus } from "./planner.ts";
import { loadMigrationTexts, type MigrationText } from "./sources.ts";
import { createMemoryDatabase, MemoryExecutor } from "./testing/memory-executor.ts";

// SPEC §2: a file that cannot be loaded blocks only what would have to pass it; warnings block
// nothing; an up section of comments only is a no-op migration.

const ACTOR = "load-errors-test";

const table = (name: string): MigrationText => ({
  name,
  sql: `-- migrate:up\nCREATE TABLE t_${name.replace(/\W/g, "_")} (id int);\n-- migrate:down\nDROP TABLE t_${name.replace(/\W/g, "_")};\n`,
});

/** 003 does not load: the down marker is indented (before, its down SQL ran as part of the up). */
const broken: MigrationText = {
  name: "003_broken",
  sql: "-- migrate:up\nCREATE TABLE t_broken (id int);\n\t-- migrate:down\nDROP TABLE t_broken;\n",
};

/** 004 loads, with a warning: an option dbmate ignores. */
const warned: MigrationText = {
  name: "004_warned",
  sql: "-- migrate:up lock:off\nCREATE TABLE t_warned (id int);\n",
};

function setup(texts: MigrationText[]) {
  const database = createMemoryDatabase();
  const executor = new MemoryExecutor({ database });
  const current = [...texts];
  const engine = createMigrationEngine({
    executor,
    source: { load: async () => loadMigrationTexts(current) },
    lockTimeoutMs: 200,
  });
  return { engine, database, current };
}

describe("a file that does not load blocks only what must pass it", () => {
  it("refuses a plain apply, naming the file and line, and applies nothing", async () => {
    const { engine, database } = setup([table("001_a"), table("002_b"), broken, table("005_e")]);
    const refusal = await engine.apply({ actor: ACTOR }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(InvalidMigrationFileError);
    const problems = (refusal as InvalidMigrationFileError).problems;
    expect(problems).toMatchObject([
      { file: "memory:003_broken", line: 3, severity: "error", version: "003" },
    ]);
    expect((refusal as Error).message).toContain("memory:003_broken:3");
    expect(database.records.size).toBe(0);
    expect(database.executed).toEqual([]);
    // A dry run says the same, and changes nothing either.
    await expect(engine.apply({ actor: ACTOR, dryRun: true })).rejects.toBeInstanceOf(
      InvalidMigrationFileError,
    );
  });

  it("applies up to a migration before the broken file, and a named one before it", async () => {
    const { engine, database } = setup([table("001_a"), table("002_b"), broken, table("005_e")]);
    const upTo = await engine.apply({ upTo: "001_a", actor: ACTOR });
    expect(upTo.results.map((r) => [r.migrationName, r.status])).toEqual([["001_a", "applied"]]);
    const one = await engine.apply({ migrationName: "002_b", actor: ACTOR });
    expect(one.results.map((r) => [r.migrationName, r.status])).toEqual([["002_b", "applied"]]);
    expect([...database.records.keys()].sort()).toEqual(["001_a", "002_b"]);
    expect(database.executed).not.toContain("DROP TABLE t_broken");
  });

  it("refuses a target at or after the broken file's version", async () => {
    const { engine, database } = setup([table("001_a"), broken, table("005_e")]);
    for (const target of [{ upTo: "005_e" }, { migrationName: "005_e" }]) {
      await expect(engine.apply({ ...target, actor: ACTOR })).rejects.toBeInstanceOf(
        InvalidMigrationFileError,
      );
    }
    // Its own version, by another name (the file that does not load has no migration).
    await expect(engine.apply({ upTo: "003_broken", actor: ACTOR })).rejects.toBeInstanceOf(
      InvalidMigrationFileError,
    );
    expect(database.records.size).toBe(0);
  });

  it("orders by the numeric version: 10 is after the broken 9, 0009 is not", () => {
    const { migrations, problems } = loadMigrationTexts([
      table("8_h"),
      { name: "9_broken", sql: "" },
      table("10_j"),
    ]);
    const input = { migrations, records: [], fileProblems: problems };
    expect(
      planApply(input, { kind: "upTo", migrationName: "8_h" }).steps.map((m) => m.name),
    ).toEqual(["8_h"]);
    expect(() => planApply(input, { kind: "upTo", migrationName: "10_j" })).toThrow(
      InvalidMigrationFileError,
    );
    expect(fileProblemsBlocking(problems, { kind: "upTo", migrationName: "0008_x" })).toEqual([]);
    expect(fileProblemsBlocking(problems, { kind: "one", migrationName: "0009_x" })).toHaveLength(
      1,
    );
  });

  it("blocks every target when a problem's version is unknown (a name that is no migration's)", () => {
    const { migrations, problems } = loadMigrationTexts([
      table("001_a"),
      { name: "x_bad", sql: "" },
    ]);
    expect(problems).toMatchObject([{ severity: "error", version: null }]);
    expect(() =>
      planApply(
        { migrations, records: [], fileProblems: problems },
        {
          kind: "upTo",
          migrationName: "001_a",
        },
      ),
    ).toThrow(InvalidMigrationFileError);
  });

  it("keeps list and history working, and shows the problem as blocking", async () => {
    const { engine } = setup([table("001_a"), broken]);
    await engine.apply({ upTo: "001_a", actor: ACTOR });
    const status = await engine.list();
    expect(status.applied.map((m) => m.name)).toEqual(["001_a"]);
    expect(status.problems).toMatchObject([
      {
        kind: "invalid_file",
        migrationName: "003_broken",
        blocking: true,
        message: expect.stringContaining("memory:003_broken:3: "),
      },
    ]);
    const history = await engine.history();
    expect(history.events.map((e) => [e.migrationName, e.action])).toEqual([["001_a", "apply"]]);
  });

  it("leaves rollbacks alone", async () => {
    const { engine, database, current } = setup([table("001_a"), table("002_b")]);
    await engine.apply({ actor: ACTOR });
    current.push(broken);
    const report = await engine.rollback({ migrationName: "002_b", actor: ACTOR });
    expect(report.status).toBe("rolled_back");
    expect(database.records.get("002_b")?.status).toBe("rolled_back");
  });

  it("still reports an earlier pending migration for a named target before the broken file", async () => {
    const { engine } = setup([table("001_a"), table("002_b"), broken]);
    await expect(engine.apply({ migrationName: "002_b", actor: ACTOR })).rejects.toBeInstanceOf(
      EarlierPendingError,
    );
  });

  it("blocks a baseline only through a broken file at or before its target", () => {
    const { migrations, problems } = loadMigrationTexts([table("001_a"), broken, table("005_e")]);
    const input = { migrations, records: [], fileProblems: problems };
    expect(planBaseline(input, "001_a").map((c) => c.migrationName)).toEqual(["001_a"]);
    expect(() => planBaseline(input, "005_e")).toThrow(InvalidMigrationFileError);
  });
});

describe("warnings block nothing", () => {
  it("applies everything, the warned migration included, and lists the warning as non-blocking", async () => {
    const { engine, database } = setup([table("001_a"), warned]);
    const report = await engine.apply({ actor: ACTOR });
    expect(report.results.map((r) => [r.migrationName, r.status])).toEqual([
      ["001_a", "applied"],
      ["004_warned", "applied"],
    ]);
    expect(database.records.get("004_warned")?.status).toBe("applied");
    const status = await engine.list();
    expect(status.problems).toMatchObject([
      {
        kind: "invalid_file",
        migrationName: "004_warned",
        blocking: false,
        message: expect.stringMatching(/^memory:004_warned:1: warning: option "lock:off"/),
      },
    ]);
  });

  it("never counts a warning as blocking, for any target", () => {
    const { migrations, problems } = loadMigrationTexts([table("001_a"), warned]);
    expect(problems).toHaveLength(1);
    for (const target of [
      { kind: "all" },
      { kind: "upTo", migrationName: "004_warned" },
      { kind: "one", migrationName: "004_warned" },
    ] as const) {
      expect(fileProblemsBlocking(problems, target)).toEqual([]);
    }
    expect(
      planBaseline({ migrations, records: [], fileProblems: problems }, "004_warned"),
    ).toHaveLength(2);
    expect(planStatus({ migrations, records: [], fileProblems: problems }).problems).toMatchObject([
      { blocking: false },
    ]);
  });
});

describe("an up section of comments only", () => {
  it("applies as a no-op: recorded applied, nothing run", async () => {
    const { engine, database } = setup([
      {
        name: "001_placeholder",
        sql: "-- migrate:up\r\n-- nothing yet\r\n\r\n-- migrate:down\r\n-- nothing either\r\n",
      },
      table("002_b"),
    ]);
    const report = await engine.apply({ actor: ACTOR });
    expect(report.results.map((r) => [r.migrationName, r.status])).toEqual([
      ["001_placeholder", "applied"],
      ["002_b", "applied"],
    ]);
    expect(database.records.get("001_placeholder")?.status).toBe("applied");
    expect(database.executed).toEqual(["CREATE TABLE t_002_b (id int)"]);
    expect((await engine.list()).problems).toEqual([]);
  });
});
