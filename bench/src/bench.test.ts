import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getTestServer } from "@studio/test-postgres";
import { afterAll, describe, expect, it } from "vitest";
import { openTarget, prepare, runApplySuite, verifyApplied } from "./suites/apply.ts";
import { runListSuite } from "./suites/list.ts";
import { runM008Suite } from "./suites/m008.ts";
import { runRoundTripSuite } from "./suites/round-trips.ts";
import { allTools } from "./tools/all.ts";

// A smoke test, so that the benchmark cannot silently rot: every tool applies a tiny corpus to a
// fresh database once (and runs its no-op), and the database is checked. Nothing is timed.
const tmp = mkdtempSync(join(tmpdir(), "studio-bench-smoke-"));
const prepared = prepare(5, join(tmp, "apply"));
const log = () => {};

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("every tool of the apply suite", () => {
  it.each(allTools.map((tool) => [tool.id, tool] as const))(
    "%s applies 5 migrations",
    async (_, tool) => {
      const { target, close } = await openTarget(tool);
      try {
        await tool.run(target, prepared, "apply");
        await verifyApplied(tool, target, prepared.corpus);
        if (tool.noop) {
          await tool.run(target, prepared, "noop");
          await verifyApplied(tool, target, prepared.corpus);
        }
      } finally {
        await close();
      }
    },
  );
});

describe("the apply suite", () => {
  it("times every tool beside its floor, and each no-op beside the no-op floor", async () => {
    const ids = [
      "floor",
      "engine-pg",
      "floor-process",
      "engine-cli",
      "pglite-floor",
      "engine-pglite",
    ];
    const rows = await runApplySuite({
      sizes: [5],
      reps: 1,
      noopReps: 2,
      tools: allTools.filter((tool) => ids.includes(tool.id)),
      tmp: join(tmp, "paired"),
      log,
    });
    const row = (suite: string, id: string) => {
      const found = rows.find((r) => r.suite === suite && r.id === id);
      if (!found) throw new Error(`no ${suite} row for ${id}`);
      return found;
    };
    // A repetition: floor, tool, floor — one pair, two runs of each floor.
    for (const [id, floor] of [
      ["engine-pg", "floor"],
      ["engine-cli", "floor-process"],
      ["engine-pglite", "pglite-floor"],
    ] as const) {
      const applied = row("apply", id);
      expect(applied).toMatchObject({ floor, pairs: 1, reps: 1 });
      expect(applied.ratio_to_floor).toBeGreaterThan(0);
      expect(applied.ratio_q1).toBeLessThanOrEqual(applied.ratio_q3 ?? Number.NaN);
      expect(applied.overhead_per_migration_ms).toEqual(expect.any(Number));
      expect(row("apply", floor).reps).toBe(2);
    }
    // No-ops: two per repetition, each between two runs of the floor that connects and sends
    // nothing (three runs); PGlite has no such floor.
    expect(row("noop", "engine-pg")).toMatchObject({ floor: "floor", pairs: 2, reps: 2 });
    expect(row("noop", "engine-cli")).toMatchObject({ floor: "floor-process", pairs: 2 });
    expect(row("noop", "floor-process").reps).toBe(3);
    expect(row("noop", "engine-pglite")).toMatchObject({ floor: null, reps: 2 });
    expect(row("noop", "engine-pglite").ratio_to_floor).toBeUndefined();
  }, 300_000);
});

describe("the other suites", () => {
  it("counts round trips, one request per migration over postgres-meta", async () => {
    const rows = await runRoundTripSuite({ n: 3, tmp: join(tmp, "round-trips"), log });
    expect(rows.find((r) => r.id === "engine-pg-meta")?.round_trips_per_migration).toBe(1);
    expect(rows.find((r) => r.id === "floor")?.round_trips_per_migration).toBe(3);
    // PGlite 0.5.16: BEGIN, the file, COMMIT, each a query and then a sync, counted once each
    // (its protocol entry points call one another).
    expect(rows.find((r) => r.id === "pglite-floor")?.round_trips_per_migration).toBe(6);
  }, 300_000);

  it("lists at two sizes, server-side and through HTTP", async () => {
    const rows = await runListSuite({ sizes: [5, 10], reps: 1, tmp: join(tmp, "list"), log });
    expect(rows.map((r) => `${r.mode} ${r.n}`)).toEqual([
      "in-process 5",
      "http 5",
      "in-process 10",
      "http 10",
    ]);
  });

  it("applies 008 to a populated platform schema with a writer running", async () => {
    const server = await getTestServer();
    const rows = await runM008Suite({ sizes: [500], reps: 1, server, tmp: join(tmp, "m008"), log });
    expect(rows).toHaveLength(1);
    expect(rows[0]?.writer_statements).toBeGreaterThan(0);
  });
});
