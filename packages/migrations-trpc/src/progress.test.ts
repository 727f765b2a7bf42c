import { randomUUID } from "node:crypto";
import { loadMigrationTexts, type MigrationText } from "@studio/migrations-core";
import { createMemoryDatabase, MemoryExecutor } from "@studio/migrations-core/testing";
import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { describe, expect, it } from "vitest";
import { applyInput, historyInput, progressInput, rollbackInput } from "./inputs.ts";
import type { ProgressEvent } from "./progress.ts";
import { createMigrationsRouter } from "./router.ts";
import { createCallerFactory } from "./trpc.ts";

const table = (n: string): MigrationText => ({
  name: n,
  sql: `-- migrate:up\nCREATE TABLE t_${n.slice(4)} (id int);\n-- migrate:down\nDROP TABLE t_${n.slice(4)};\n`,
});

function setup(texts: MigrationText[], statementDelayMs = 0) {
  const database = createMemoryDatabase();
  const executor = new MemoryExecutor({ database, statementDelayMs });
  const router = createMigrationsRouter({
    executor,
    source: { load: async () => loadMigrationTexts(texts) },
    lockTimeoutMs: 100,
  });
  const abort = new AbortController();
  const { migrations } = createCallerFactory(router)({ actor: "ops" }, { signal: abort.signal });
  return {
    database,
    apply: (input: Parameters<typeof migrations.apply>[0]) =>
      migrations.apply.call(undefined, input),
    rollback: migrations.rollback,
    history: migrations.history,
    /** Subscribes and collects `{ id, data }` until `until` says stop (then unsubscribes). */
    async subscribe(
      input: Parameters<typeof migrations.progress>[0],
      until: (event: ProgressEvent, all: ProgressEvent[]) => boolean,
    ) {
      const stream = await migrations.progress(input);
      const events: ProgressEvent[] = [];
      const ids: string[] = [];
      return {
        events,
        ids,
        done: (async () => {
          // Through a caller an event comes as tRPC's tracked envelope, `[id, data, marker]`
          // (though typed as what an HTTP client gets, `{ id, data }`).
          for await (const envelope of stream) {
            const [id, data] = envelope as unknown as [string, ProgressEvent];
            ids.push(id);
            events.push(data);
            if (until(data, events)) break;
          }
          return events;
        })(),
      };
    },
    stop: () => abort.abort(),
  };
}

const names = (events: ProgressEvent[]) =>
  events
    .filter((e) => e.type !== "heartbeat")
    .map((e) => ("migrationName" in e ? `${e.type} ${e.migrationName}` : e.type));

describe("migrations.progress", () => {
  it("streams a run's events in order, after a first heartbeat, to the client that named it", async () => {
    const { apply, subscribe, stop } = setup([table("001_a"), table("002_b"), table("003_c")]);
    const runId = randomUUID();

    const sub = await subscribe({ runId }, (e) => e.type === "run_finished");
    await apply({ runId });
    const events = await sub.done;
    stop();

    expect(events[0]).toMatchObject({ type: "heartbeat", running: [] });
    expect(names(events)).toEqual([
      "run_started",
      "migration_started 001_a",
      "migration_finished 001_a",
      "migration_started 002_b",
      "migration_finished 002_b",
      "migration_started 003_c",
      "migration_finished 003_c",
      "run_finished",
    ]);
    expect(events.every((e) => e.type === "heartbeat" || ("runId" in e && e.runId === runId))).toBe(
      true,
    );
  });

  it("sends a run's earlier events to a client that subscribes after it started", async () => {
    const { apply, subscribe, stop } = setup([table("001_a"), table("002_b")]);
    const runId = randomUUID();
    await apply({ runId });

    const sub = await subscribe({ runId }, (e) => e.type === "run_finished");
    const events = await sub.done;
    stop();

    expect(names(events)).toEqual([
      "run_started",
      "migration_started 001_a",
      "migration_finished 001_a",
      "migration_started 002_b",
      "migration_finished 002_b",
      "run_finished",
    ]);
  });

  it("keeps other runs' events out of a run's stream, and resumes after lastEventId", async () => {
    const { apply, rollback, subscribe, stop } = setup([table("001_a"), table("002_b")]);
    const mine = randomUUID();
    await apply({ runId: randomUUID() });
    await rollback({ steps: 2, runId: mine });

    const first = await subscribe({ runId: mine }, (_, all) => all.length === 4);
    await first.done;
    // Reconnecting with the last id seen sends only what came after it.
    const lastSeen = first.ids.at(-1) as string;
    const again = await subscribe(
      { runId: mine, lastEventId: lastSeen },
      (e) => e.type === "run_finished",
    );
    const rest = await again.done;
    stop();

    expect(names(first.events)).toEqual([
      "run_started",
      "migration_started 002_b",
      "migration_finished 002_b",
    ]);
    expect(names(rest)).toEqual([
      "migration_started 001_a",
      "migration_finished 001_a",
      "run_finished",
    ]);
    expect(first.events.every((e) => e.type === "heartbeat" || e.kind === "rollback")).toBe(true);
  });

  it("heartbeats while a migration runs, with its name and elapsed time, and when idle", async () => {
    // Each statement takes 400 ms: long enough for heartbeats every 200 ms to show it running.
    const { apply, subscribe, stop } = setup([table("001_a")], 400);
    const runId = randomUUID();

    const sub = await subscribe({ runId, heartbeatMs: 200 }, (e) => e.type === "run_finished");
    await apply({ runId });
    const events = await sub.done;
    const idle = await subscribe({ heartbeatMs: 200 }, (_, all) => all.length === 3);
    const quiet = await idle.done;
    stop();

    const running = events.filter((e) => e.type === "heartbeat" && e.running.length > 0);
    expect(running.length).toBeGreaterThan(0);
    expect(running.at(-1)).toMatchObject({
      running: [{ runId, migrationName: "001_a", index: 0, total: 1, kind: "apply" }],
    });
    const last = running.at(-1);
    expect(last?.type === "heartbeat" && (last.running[0]?.elapsedMs ?? 0)).toBeGreaterThan(100);
    expect(quiet.map((e) => e.type)).toEqual(["heartbeat", "heartbeat", "heartbeat"]);
    expect(quiet.every((e) => e.type === "heartbeat" && e.running.length === 0)).toBe(true);
  });

  it("passes a run's lock and statement timeouts to the executor", async () => {
    const { apply, database } = setup([table("001_a")]);
    database.lockedTables.add("t_a");

    const status = await apply({ lockTimeoutMs: 30 }).then(
      () => 200,
      (error: unknown) => getHTTPStatusCodeFromError(error as TRPCError),
    );

    expect(status).toBe(422);
    expect(database.records.get("001_a")?.errorMessage).toBe(
      "canceling statement due to lock timeout",
    );
    expect(database.tables.has("t_a")).toBe(false);
  });
});

describe("run and cursor inputs", () => {
  it("history cursors: a positive bigint, at most 2^63 - 1; nothing else reaches the engine", async () => {
    const { history } = setup([table("001_a")]);
    const refused = async (cursor: string) => {
      try {
        await history({ cursor });
        return null;
      } catch (error) {
        return error instanceof TRPCError ? error.code : "other";
      }
    };

    expect(await refused("9223372036854775807")).toBeNull();
    for (const cursor of ["9223372036854775808", "99999999999999999999", "0", "007", "-1", "1e3"]) {
      expect(await refused(cursor), cursor).toBe("BAD_REQUEST");
    }
    expect(
      historyInput.safeParse({ cursor: "9223372036854775808" }).error?.issues[0]?.message,
    ).toBe(
      "must be a nextCursor from a previous page: a whole number from 1 to 9223372036854775807",
    );
  });

  it("apply and rollback take a UUID runId and bounded timeouts; progress a bounded heartbeat", () => {
    const ok = (schema: { safeParse(v: unknown): { success: boolean } }, value: unknown) =>
      schema.safeParse(value).success;
    expect(ok(applyInput, { runId: randomUUID(), lockTimeoutMs: 1, statementTimeoutMs: 1 })).toBe(
      true,
    );
    expect(ok(applyInput, { runId: "run-1" })).toBe(false);
    expect(ok(applyInput, { lockTimeoutMs: 0 })).toBe(false);
    expect(ok(applyInput, { lockTimeoutMs: 600_001 })).toBe(false);
    expect(ok(applyInput, { statementTimeoutMs: 2.5 })).toBe(false);
    expect(ok(rollbackInput, { steps: 1, lockTimeoutMs: 600_000 })).toBe(true);
    expect(ok(progressInput, { heartbeatMs: 199 })).toBe(false);
    expect(ok(progressInput, { heartbeatMs: 30_001 })).toBe(false);
    expect(ok(progressInput, { runId: randomUUID(), heartbeatMs: 200, lastEventId: "12" })).toBe(
      true,
    );
    expect(ok(progressInput, { other: 1 })).toBe(false);
  });
});
