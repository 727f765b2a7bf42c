import { describe, expect, it } from "vitest";
import { createMigrationEngine } from "./engine.ts";
import { MigrationBlockedError } from "./errors.ts";
import { loadMigrationTexts, type MigrationText } from "./sources.ts";
import {
  createMemoryDatabase,
  type InjectedFailure,
  MemoryExecutor,
} from "./testing/memory-executor.ts";

// `baseline --to <name>` (SPEC §4 Baseline) over a failed or interrupted migration: refused, as an
// apply or an adopt is — that is what resolve is for — and nothing is recorded.

const table = (n: string): MigrationText => ({
  name: n,
  sql: `-- migrate:up\nCREATE TABLE t_${n.replace(/^[0-9]+_/, "")} (id int);\n-- migrate:down\nDROP TABLE t_${n.replace(/^[0-9]+_/, "")};\n`,
});

/** A `transaction:false` migration whose second statement the failures below target. */
const concurrently = (n: string): MigrationText => {
  const stem = n.replace(/^[0-9]+_/, "");
  return {
    name: n,
    sql: `-- migrate:up transaction:false\nCREATE TABLE t_${stem} (id int);\nCREATE INDEX CONCURRENTLY i_${stem} ON t_${stem} (id);\n`,
  };
};

function setup(texts: MigrationText[], failures: InjectedFailure[] = []) {
  const database = createMemoryDatabase();
  const executor = new MemoryExecutor({ database, failures });
  const engine = createMigrationEngine({
    executor,
    source: { load: async () => loadMigrationTexts(texts) },
    lockTimeoutMs: 100,
  });
  const statuses = () =>
    Object.fromEntries([...database.records.values()].map((r) => [r.migrationName, r.status]));
  return { engine, database, statuses };
}

/** The refusal's code, class and message, and that nothing was recorded by it. */
async function expectRefused(
  context: ReturnType<typeof setup>,
  upTo: string,
  names: RegExp,
): Promise<void> {
  const { engine, database, statuses } = context;
  const events = database.events.length;
  const before = statuses();
  const attempt = engine.baseline({ upTo, actor: "ops" });
  await expect(attempt).rejects.toBeInstanceOf(MigrationBlockedError);
  await expect(attempt).rejects.toMatchObject({ code: "MIGRATION_BLOCKED" });
  await expect(attempt).rejects.toThrow(names);
  await expect(attempt).rejects.toThrow(/resolve/);
  expect(database.events).toHaveLength(events);
  expect(statuses()).toEqual(before);
}

describe("baseline over a failed or interrupted migration", () => {
  it("is refused over a migration that failed outside a transaction, recording nothing", async () => {
    const context = setup(
      [table("001_a"), concurrently("002_index"), table("003_c"), table("004_d")],
      [{ migrationName: "002_index", statementIndex: 1 }],
    );
    expect((await context.engine.apply({ actor: "ops" })).failed?.migrationName).toBe("002_index");
    expect(context.statuses()).toEqual({ "001_a": "applied", "002_index": "failed" });

    // Up to the failed one, past it, and up to one before it: the failure may have left partial
    // changes, and recording anything around it would hide that, as an apply would.
    await expectRefused(context, "003_c", /002_index \(failed\)/);
    await expectRefused(context, "004_d", /002_index \(failed\)/);
    await expectRefused(context, "002_index", /002_index \(failed\)/);
    await expectRefused(context, "001_a", /002_index \(failed\)/);
  });

  it("is refused over an interrupted migration (its runner died mid-way), recording only that attempt's failure", async () => {
    const context = setup(
      [table("001_a"), concurrently("002_index"), table("003_c")],
      [{ migrationName: "002_index", statementIndex: 1, mode: "crash" }],
    );
    await expect(context.engine.apply({ actor: "ops" })).rejects.toThrow();
    expect((await context.engine.list()).problems.map((p) => p.kind)).toEqual(["interrupted"]);

    // The first operation to find it writes the failed event its runner never wrote (SPEC §3).
    await expect(context.engine.baseline({ upTo: "003_c", actor: "dba" })).rejects.toBeInstanceOf(
      MigrationBlockedError,
    );
    expect(
      context.database.events.map((e) => [e.migrationName, e.action, e.outcome, e.actor]),
    ).toEqual([
      ["001_a", "apply", "succeeded", "ops"],
      ["002_index", "apply", "failed", "ops"],
    ]);
    await expectRefused(context, "003_c", /002_index \(interrupted\)/);
  });

  it("goes on once the operator resolves it, and records only what is not applied", async () => {
    const context = setup(
      [table("001_a"), concurrently("002_index"), table("003_c")],
      [{ migrationName: "002_index", statementIndex: 1 }],
    );
    const { engine, database, statuses } = context;
    await engine.apply({ actor: "ops" });
    await expectRefused(context, "003_c", /002_index/);

    await engine.resolve({ migrationName: "002_index", as: "applied", actor: "dba" });
    const report = await engine.baseline({ upTo: "003_c", actor: "ops" });

    expect(report.results).toEqual([
      { migrationName: "001_a", status: "already_applied" },
      { migrationName: "002_index", status: "already_applied" },
      { migrationName: "003_c", status: "baselined" },
    ]);
    expect(statuses()).toEqual({ "001_a": "applied", "002_index": "applied", "003_c": "applied" });
    expect(
      database.events.filter((e) => e.action === "baseline").map((e) => e.migrationName),
    ).toEqual(["003_c"]);
  });

  it("is not refused over a transactional failure, which left nothing behind (it is pending)", async () => {
    const { engine, database, statuses } = setup(
      [table("001_a"), table("002_b")],
      [{ migrationName: "002_b", error: { message: 'relation "t_b" already exists' } }],
    );
    expect((await engine.apply({ actor: "ops" })).failed?.migrationName).toBe("002_b");
    // The table was made by hand: baseline records 002 as applied, running nothing.
    const executed = database.executed.length;

    const report = await engine.baseline({ upTo: "002_b", actor: "ops" });

    expect(report.results).toEqual([
      { migrationName: "001_a", status: "already_applied" },
      { migrationName: "002_b", status: "baselined" },
    ]);
    expect(statuses()).toEqual({ "001_a": "applied", "002_b": "applied" });
    expect(database.executed).toHaveLength(executed);
    expect((await engine.list()).problems).toEqual([]);
  });
});
