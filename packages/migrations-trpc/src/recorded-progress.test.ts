import { randomUUID } from "node:crypto";
import {
  createMigrationEngine,
  loadMigrationTexts,
  type MigrationText,
} from "@studio/migrations-core";
import { createMemoryDatabase, MemoryExecutor } from "@studio/migrations-core/testing";
import { describe, expect, it } from "vitest";
import { ProgressHub } from "./progress.ts";
import { type RecordedMigrationEvent, RecordedProgress } from "./recorded-progress.ts";

/**
 * `RecordedProgress` over two engines sharing one in-memory database — two replicas. Its polls
 * run on a timer of an hour here, so that each happens when a test makes it: every new subscriber
 * asks for one at once.
 */

const texts = (count: number): MigrationText[] =>
  Array.from({ length: count }, (_, i) => {
    const name = `${String(i + 1).padStart(3, "0")}_t${i + 1}`;
    return { name, sql: `-- migrate:up\nCREATE TABLE t${i + 1} (id int);\n` };
  });

function replicas(count: number) {
  const database = createMemoryDatabase();
  const source = { load: async () => loadMigrationTexts(texts(count)) };
  const engine = () =>
    createMigrationEngine({ executor: new MemoryExecutor({ database }), source });
  return { database, here: engine(), elsewhere: engine() };
}

/** A subscriber that keeps what it is sent. */
function listen(recorded: RecordedProgress) {
  const got: RecordedMigrationEvent[] = [];
  const subscription = recorded.subscribe((events) => got.push(...events));
  return { got, ...subscription };
}

const HOUR = 3_600_000;

describe("RecordedProgress", () => {
  it("sends every migration finished elsewhere since a subscriber came, oldest first, past a page", async () => {
    // More than two pages of events between two polls.
    const { here, elsewhere } = replicas(250);
    const recorded = new RecordedProgress(here, HOUR);
    const first = listen(recorded);
    await first.ready;

    await elsewhere.apply({ actor: "deploy-bot" });
    const second = listen(recorded);
    await second.ready;
    first.stop();
    second.stop();

    expect(first.got.map((e) => e.migrationName)).toEqual(texts(250).map((t) => t.name));
    expect(new Set(first.got.map((e) => e.eventId)).size).toBe(250);
    expect(first.got[0]).toMatchObject({
      type: "migration_recorded",
      kind: "apply",
      actor: "deploy-bot",
      result: { status: "applied", error: null },
    });
    // Subscribed after the run: nothing of it is news to the second.
    expect(second.got).toEqual([]);
  });

  it("leaves out what this process's own runs finished: the hub reports those", async () => {
    const { here, elsewhere } = replicas(3);
    const hub = new ProgressHub();
    const recorded = new RecordedProgress(here, HOUR);
    hub.listen(({ event }) => recorded.noteLocal(event));
    const sub = listen(recorded);
    await sub.ready;

    await here.apply({
      actor: "ops",
      upTo: "002_t2",
      progress: { runId: randomUUID(), listener: hub.publish },
    });
    await elsewhere.apply({ actor: "colleague" });
    const next = listen(recorded);
    await next.ready;
    sub.stop();
    next.stop();

    expect(sub.got.map((e) => `${e.migrationName} ${e.actor}`)).toEqual(["003_t3 colleague"]);
  });

  it("a failed attempt elsewhere is sent as failed, with the database's message", async () => {
    const database = createMemoryDatabase();
    const source = {
      load: async () =>
        loadMigrationTexts([{ name: "001_broken", sql: "-- migrate:up\nDROP TABLE nowhere;\n" }]),
    };
    const here = createMigrationEngine({ executor: new MemoryExecutor({ database }), source });
    const elsewhere = createMigrationEngine({ executor: new MemoryExecutor({ database }), source });
    const recorded = new RecordedProgress(here, HOUR);
    const sub = listen(recorded);
    await sub.ready;

    const report = await elsewhere.apply({ actor: "ops" });
    const next = listen(recorded);
    await next.ready;
    sub.stop();
    next.stop();

    expect(report.failed?.migrationName).toBe("001_broken");
    expect(sub.got).toHaveLength(1);
    expect(sub.got[0]).toMatchObject({
      kind: "apply",
      migrationName: "001_broken",
      result: { status: "failed", error: report.failed?.error?.message },
    });
    expect(database.records.get("001_broken")?.status).toBe("failed");
  });
});
