import { describe, expect, it } from "vitest";
import { checkTargets, type Row, renderChart, renderTables } from "./report.ts";

// The report on made-up rows: which lines the target check writes, and what they conclude.
function applyRow(id: string, n: number, fields: Partial<Row> = {}): Row {
  return {
    suite: "apply",
    tool: id,
    id,
    mode: "in-process",
    target: "pg",
    transactions: "per migration",
    n,
    reps: 7,
    median_ms: 100,
    q1_ms: 95,
    q3_ms: 110,
    min_ms: 90,
    max_ms: 120,
    floor: "floor",
    pairs: 7,
    floor_median_ms: 90,
    ratio_to_floor: 1.1,
    ratio_q1: 1.05,
    ratio_q3: 1.15,
    overhead_per_migration_ms: 0.2,
    overhead_q1_ms: 0.1,
    overhead_q3_ms: 0.3,
    ratio_of_medians: 1.11,
    ...fields,
  };
}

const floorRow = (n: number): Row => ({
  suite: "apply",
  tool: "floor",
  id: "floor",
  mode: "in-process",
  target: "pg",
  transactions: "per migration",
  n,
  reps: 42,
  median_ms: 90,
  min_ms: 80,
  max_ms: 100,
  floor: null,
});

function lineAbout(report: string, text: string): string {
  const line = report.split("\n").find((l) => l.includes(text));
  if (line === undefined) throw new Error(`no line with "${text}" in:\n${report}`);
  return line;
}

describe("checkTargets", () => {
  it("holds the engine over pg to 1.25x at N=50 and 1.10x at N=1000, on the paired median", () => {
    const report = checkTargets([
      floorRow(50),
      applyRow("engine-pg", 50, { ratio_to_floor: 1.24, ratio_q1: 1.2, ratio_q3: 1.3 }),
      floorRow(1000),
      // Its ratio of medians would pass; the paired median decides.
      applyRow("engine-pg", 1000, { ratio_to_floor: 1.12, ratio_of_medians: 1.05 }),
    ]);
    expect(lineAbout(report, "at most 1.25x the floor at N=50")).toMatch(
      /1\.24x \[IQR 1\.20–1\.30\], 7 pairs: met$/,
    );
    expect(lineAbout(report, "at most 1.10x the floor at N=1000")).toMatch(/1\.12x .*: MISSED$/);
  });

  it("gives no verdict on fewer than 5 pairs, and says which sizes a run lacks", () => {
    const report = checkTargets([floorRow(50), applyRow("engine-pg", 50, { pairs: 3 })]);
    expect(lineAbout(report, "N=50")).toMatch(/no verdict \(3 pairs, fewer than 5\)$/);
    expect(lineAbout(report, "N=1000")).toMatch(/not measured in this run \(N = 50\)$/);
  });

  it("compares the engine with the best peer of its mode, transaction per migration", () => {
    const report = checkTargets([
      applyRow("engine-pg", 50, { ratio_to_floor: 1.2 }),
      applyRow("postgres-migrations", 50, { ratio_to_floor: 1.25 }),
      applyRow("node-pg-migrate-per-migration", 50, { ratio_to_floor: 1.22 }),
      // A peer with one transaction for all is not held against it, nor a process.
      applyRow("node-pg-migrate-default", 50, {
        ratio_to_floor: 1.01,
        transactions: "one for all",
        floor: "floor-1tx",
      }),
      applyRow("dbmate", 50, { ratio_to_floor: 1.0, mode: "process", floor: "floor-process" }),
    ]);
    expect(lineAbout(report, "engine over pg below every peer")).toMatch(
      /best peer, node-pg-migrate-per-migration: 1\.22x .*: met$/,
    );
    const worse = checkTargets([
      applyRow("engine-pg", 50, { ratio_to_floor: 1.3 }),
      applyRow("postgres-migrations", 50, { ratio_to_floor: 1.25 }),
    ]);
    expect(lineAbout(worse, "below every peer")).toMatch(/postgres-migrations: 1\.25x.*: MISSED$/);
  });

  it("holds PGlite to 1.25x its floor and postgres-meta to 1.5 ms per migration over its floor", () => {
    const report = checkTargets([
      applyRow("engine-pglite", 50, { ratio_to_floor: 1.4, floor: "pglite-floor" }),
      applyRow("engine-pg-meta", 50, { overhead_per_migration_ms: 1.2, floor: "pg-meta-floor" }),
    ]);
    expect(lineAbout(report, "PGlite")).toMatch(/1\.40x .*: MISSED$/);
    expect(lineAbout(report, "postgres-meta at most 1.5 ms")).toMatch(/1\.20 ms .*: met$/);
  });

  it("holds the no-op CLI at N=1000 to 1.3x the floor process and to 150 ms", () => {
    const noop: Row = {
      ...applyRow("engine-cli", 1000),
      suite: "noop",
      mode: "process",
      floor: "floor-process",
      median_ms: 160,
      ratio_to_floor: 1.25,
      floor_median_ms: 128,
      overhead_per_migration_ms: null,
    };
    const report = checkTargets([applyRow("engine-pg", 1000), noop]);
    expect(lineAbout(report, "at most 1.30x the floor process")).toMatch(/1\.25x .*: met$/);
    expect(lineAbout(report, "under 150 ms")).toMatch(/160 ms median .*: MISSED$/);
  });
});

describe("renderTables and renderChart", () => {
  const rows = [
    floorRow(50),
    applyRow("engine-pg", 50),
    floorRow(1000),
    applyRow("engine-pg", 1000, { ratio_to_floor: 1.3 }),
  ];

  it("print the paired table and the absolute one", () => {
    const tables = renderTables(rows);
    expect(tables).toContain("paired with the floor");
    expect(tables).toContain("absolute times");
    expect(tables).toMatch(/\| engine-pg +\| +in-process \| per migration \| 1000 \| +1\.30 \|/);
  });

  it("draw one panel per N, with the interquartile range as a whisker", () => {
    const svg = renderChart(rows);
    expect(svg).toContain(">N = 50<");
    expect(svg).toContain(">N = 1000<");
    expect(svg.match(/stroke="#111827"/g)).toHaveLength(2);
  });
});
