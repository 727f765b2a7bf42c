import { describe, expect, it } from "vitest";
import { type AttemptLog, createMigrationEngine } from "./engine.ts";
import { ExecutorUnavailableError, LockBusyError, MigrationBlockedError } from "./errors.ts";
import type { MigrationEvent } from "./records.ts";
import { loadMigrationTexts, type MigrationText } from "./sources.ts";
import {
  createMemoryDatabase,
  type InjectedFailure,
  type MemoryDatabase,
  MemoryExecutor,
} from "./testing/memory-executor.ts";

// SPEC §3: the audit trail holds one row for every attempt, successful or not. A `transaction:false`
// attempt whose runner died between its claim and its record never wrote its own: the first
// operation that writes under the lock and finds it interrupted writes it, once (SPEC §4).

const INDEX: MigrationText = {
  name: "001_index",
  sql: "-- migrate:up transaction:false\ncreate table if not exists a (id int);\ncreate table b (id int);\n-- migrate:down transaction:false\ndrop table b;\ndrop table a;\n",
};
const NEXT: MigrationText = { name: "002_next", sql: "-- migrate:up\ncreate table c (id int);\n" };

const startedAt = new Date("2026-03-01T10:00:00.000Z");
const detectedAt = new Date("2026-03-01T10:05:00.000Z");

/** An engine on `database` whose clock reads `at`, with `failures` injected. */
function engineOn(
  database: MemoryDatabase,
  texts: MigrationText[],
  at: Date,
  failures: InjectedFailure[] = [],
  onAttempt?: (attempt: AttemptLog) => void,
) {
  return createMigrationEngine({
    executor: new MemoryExecutor({ database, failures, now: () => at }),
    source: { load: async () => loadMigrationTexts(texts) },
    lockTimeoutMs: 100,
    ...(onAttempt === undefined ? {} : { onAttempt }),
  });
}

/** A database where `replica-1`'s apply of 001_index died at its second statement. */
async function interruptedApply(texts: MigrationText[] = [INDEX, NEXT]): Promise<MemoryDatabase> {
  const database = createMemoryDatabase();
  const crashing = engineOn(database, texts, startedAt, [
    { migrationName: INDEX.name, statementIndex: 1, mode: "crash" },
  ]);
  await expect(crashing.apply({ actor: "replica-1" })).rejects.toBeInstanceOf(
    ExecutorUnavailableError,
  );
  return database;
}

function eventsOf(database: MemoryDatabase, name = INDEX.name): MigrationEvent[] {
  return database.events.filter((event) => event.migrationName === name);
}

const interruptedApplyEvent = {
  migrationName: INDEX.name,
  action: "apply",
  outcome: "failed",
  actor: "replica-1",
  executionTimeMs: null,
  errorMessage:
    "interrupted: started by replica-1 at 2026-03-01T10:00:00.000Z and its runner stopped before it finished, so part of it may have run (detected by ops at 2026-03-01T10:05:00.000Z)",
  resolution: null,
};

describe("an interrupted attempt's failed event", () => {
  it("is written by the apply that is refused because of it, with who started it and when", async () => {
    const database = await interruptedApply();
    expect(eventsOf(database)).toEqual([]);

    const engine = engineOn(database, [INDEX, NEXT], detectedAt);
    await expect(engine.apply({ actor: "ops" })).rejects.toBeInstanceOf(MigrationBlockedError);

    expect(eventsOf(database)).toEqual([
      expect.objectContaining({ ...interruptedApplyEvent, at: detectedAt }),
    ]);
    // The row still shows the attempt interrupted: only an operator's resolve clears it.
    expect((await engine.list()).problems).toMatchObject([
      { kind: "interrupted", migrationName: INDEX.name, blocking: true },
    ]);
    expect(database.records.get(INDEX.name)).toMatchObject({
      status: "failed",
      executionTimeMs: null,
    });
  });

  it("is written once, and logged once, however many operations find the attempt afterwards", async () => {
    const database = await interruptedApply();
    const logged: AttemptLog[] = [];
    const engine = engineOn(database, [INDEX, NEXT], detectedAt, [], (line) => logged.push(line));
    for (const actor of ["ops", "ci", "replica-2"]) {
      await expect(engine.apply({ actor })).rejects.toBeInstanceOf(MigrationBlockedError);
    }
    await expect(engine.baseline({ upTo: NEXT.name, actor: "ops" })).rejects.toBeInstanceOf(
      MigrationBlockedError,
    );
    await engine.rollback({ migrationName: INDEX.name, actor: "ops" });

    expect(eventsOf(database)).toEqual([expect.objectContaining(interruptedApplyEvent)]);
    // SPEC §6: one line per attempt — this one's runner never wrote its own.
    expect(logged.filter((line) => line.migrationName === INDEX.name)).toEqual([
      {
        migrationName: INDEX.name,
        action: "apply",
        outcome: "failed",
        executionTimeMs: null,
        actor: "replica-1",
        error: interruptedApplyEvent.errorMessage,
      },
    ]);
  });

  it("is not written by a read: list and history write nothing", async () => {
    const database = await interruptedApply();
    const engine = engineOn(database, [INDEX, NEXT], detectedAt);
    await engine.list();
    await engine.history();
    expect(database.events).toEqual([]);
  });

  it("comes before the resolve that clears the attempt, in the same batch", async () => {
    const database = await interruptedApply();
    const engine = engineOn(database, [INDEX, NEXT], detectedAt);

    await engine.resolve({ migrationName: INDEX.name, as: "rolled_back", actor: "ops" });

    expect(eventsOf(database).map((e) => [e.action, e.outcome, e.actor, e.resolution])).toEqual([
      ["apply", "failed", "replica-1", null],
      ["resolve", "succeeded", "ops", "rolled_back"],
    ]);
    expect(eventsOf(database)[0]).toMatchObject(interruptedApplyEvent);
    // Retried after the resolve, the attempt that follows is a new one: it has no event owed.
    expect((await engine.apply({ actor: "ops" })).failed).toBeNull();
    expect(eventsOf(database).map((e) => [e.action, e.outcome])).toEqual([
      ["apply", "failed"],
      ["resolve", "succeeded"],
      ["apply", "succeeded"],
    ]);
  });

  it("is written again for a second attempt interrupted after the first was resolved", async () => {
    const database = await interruptedApply([INDEX]);
    const later = new Date(detectedAt.getTime() + 60_000);
    await engineOn(database, [INDEX], detectedAt).resolve({
      migrationName: INDEX.name,
      as: "rolled_back",
      actor: "ops",
    });
    await expect(
      engineOn(database, [INDEX], later, [
        { migrationName: INDEX.name, statementIndex: 1, mode: "crash" },
      ]).apply({ actor: "replica-2" }),
    ).rejects.toBeInstanceOf(ExecutorUnavailableError);

    await expect(engineOn(database, [INDEX], later).apply({ actor: "ops" })).rejects.toBeInstanceOf(
      MigrationBlockedError,
    );

    expect(
      eventsOf(database)
        .filter((e) => e.outcome === "failed")
        .map((e) => e.actor),
    ).toEqual(["replica-1", "replica-2"]);
  });

  it("is never written for a migration whose runner is still working on it", async () => {
    const database = await interruptedApply();
    const record = database.records.get(INDEX.name);
    if (record) record.running = true;
    const engine = engineOn(database, [INDEX, NEXT], detectedAt);

    await expect(engine.apply({ actor: "ops" })).rejects.toBeInstanceOf(LockBusyError);
    // Straight to the executor, as a plan made on an earlier read would ask: it checks for itself.
    await engine.executor.recordChanges(
      [{ kind: "record_interrupted", migrationName: INDEX.name, action: "apply" }],
      "ops",
    );

    expect(eventsOf(database)).toEqual([]);
  });

  it("records an interrupted down section as a failed rollback by whoever started it", async () => {
    const database = createMemoryDatabase();
    await engineOn(database, [INDEX], startedAt).apply({ actor: "deployer" });
    await expect(
      engineOn(database, [INDEX], startedAt, [
        { migrationName: INDEX.name, action: "rollback", statementIndex: 1, mode: "crash" },
      ]).rollback({ migrationName: INDEX.name, actor: "replica-1" }),
    ).rejects.toBeInstanceOf(ExecutorUnavailableError);

    const engine = engineOn(database, [INDEX], detectedAt);
    await engine.resolve({ migrationName: INDEX.name, as: "rolled_back", actor: "ops" });

    expect(eventsOf(database).map((e) => [e.action, e.outcome, e.actor])).toEqual([
      ["apply", "succeeded", "deployer"],
      ["rollback", "failed", "replica-1"],
      ["resolve", "succeeded", "ops"],
    ]);
    expect(eventsOf(database)[1]?.errorMessage).toBe(
      "interrupted: started by replica-1 after 2026-03-01T10:00:00.000Z (when it was last applied) and its runner stopped before it finished, so part of it may have run (detected by ops at 2026-03-01T10:05:00.000Z)",
    );
  });
});
