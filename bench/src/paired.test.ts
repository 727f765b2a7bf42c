import { describe, expect, it } from "vitest";
import { rotate, runBracketed } from "./paired.ts";

// The schedule that pairs a tool with its floor, driven by fake runs that return made-up times
// and log the order they ran in: nothing is timed.
describe("runBracketed", () => {
  it("runs the floor before, between and after the items, and pairs each item with the mean of its two neighbours", async () => {
    const order: string[] = [];
    const floorTimes = [100, 120, 140];
    let floorRuns = 0;
    const run = await runBracketed(
      ["a", "b"],
      async (item) => {
        order.push(item);
        return item === "a" ? 150 : 260;
      },
      async () => {
        order.push("floor");
        return floorTimes[floorRuns++] as number;
      },
    );
    expect(order).toEqual(["floor", "a", "floor", "b", "floor"]);
    expect(run.floors).toEqual([100, 120, 140]);
    expect(run.measured).toEqual([
      { item: "a", pair: { tool: 150, floor: 110 } },
      { item: "b", pair: { tool: 260, floor: 130 } },
    ]);
  });

  it("cancels drift that is linear across an item's neighbours", async () => {
    // The machine slows by 10% per run; the tool is always 1.5x the floor at the same moment.
    let clock = 0;
    const slowdown = () => 1 + 0.1 * clock++;
    const run = await runBracketed(
      [1, 2, 3],
      async () => 1.5 * 1000 * slowdown(),
      async () => 1000 * slowdown(),
    );
    for (const { pair } of run.measured) expect(pair.tool / pair.floor).toBeCloseTo(1.5, 10);
  });

  it("runs the floor once when there is nothing to pair with it", async () => {
    let floorRuns = 0;
    const run = await runBracketed(
      [],
      async () => 0,
      async () => {
        floorRuns++;
        return 5;
      },
    );
    expect(floorRuns).toBe(1);
    expect(run).toEqual({ measured: [], floors: [5] });
  });

  it("stops at the first run that throws", async () => {
    const order: string[] = [];
    await expect(
      runBracketed(
        ["a", "b"],
        async (item) => {
          order.push(item);
          if (item === "a") throw new Error("a failed");
          return 1;
        },
        async () => {
          order.push("floor");
          return 1;
        },
      ),
    ).rejects.toThrow("a failed");
    expect(order).toEqual(["floor", "a"]);
  });
});

describe("rotate", () => {
  it("starts each repetition at the next item, wrapping around", () => {
    expect(rotate(["a", "b", "c"], 0)).toEqual(["a", "b", "c"]);
    expect(rotate(["a", "b", "c"], 1)).toEqual(["b", "c", "a"]);
    expect(rotate(["a", "b", "c"], 4)).toEqual(["b", "c", "a"]);
    expect(rotate([], 3)).toEqual([]);
  });
});
