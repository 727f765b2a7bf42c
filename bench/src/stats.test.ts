import { describe, expect, it } from "vitest";
import {
  interquartileRange,
  median,
  pairedDeltas,
  pairedRatios,
  percentile,
  summarize,
} from "./stats.ts";

// The statistics the bench reports, on made-up numbers: nothing here is timed.
describe("median", () => {
  it("is the middle value of an odd count, whatever the order", () => {
    expect(median([9, 1, 5])).toBe(5);
    expect(median([3])).toBe(3);
  });

  it("is the mean of the two middle values of an even count", () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it("is not moved by one wild value", () => {
    expect(median([1, 1.1, 1.2, 1.3, 40])).toBe(1.2);
  });

  it("refuses no values, and values that are not finite numbers", () => {
    expect(() => median([])).toThrow(/no samples/);
    expect(() => median([1, Number.NaN])).toThrow(/not a finite number/);
  });
});

describe("quartiles and the interquartile range", () => {
  it("interpolate between ranks (type 7, as R's and NumPy's defaults)", () => {
    const s = summarize([1, 2, 3, 4, 5, 6, 7]);
    expect([s.q1, s.median, s.q3]).toEqual([2.5, 4, 5.5]);
    expect(interquartileRange([1, 2, 3, 4, 5, 6, 7])).toBe(3);
    // numpy.percentile([10, 20, 30, 40], [25, 75]) = [17.5, 32.5]
    const even = summarize([40, 10, 30, 20]);
    expect([even.q1, even.q3]).toEqual([17.5, 32.5]);
  });

  it("is zero when every value is the same, and for a single value", () => {
    expect(interquartileRange([1.2, 1.2, 1.2, 1.2, 1.2])).toBe(0);
    expect(interquartileRange([7])).toBe(0);
  });

  it("keeps the extremes out: one wild value widens the range, not the quartiles", () => {
    const s = summarize([1, 1.1, 1.2, 1.3, 1.4, 1.5, 30]);
    expect(s.q1).toBeCloseTo(1.15, 10);
    expect(s.q3).toBeCloseTo(1.45, 10);
    expect([s.min, s.max]).toEqual([1, 30]);
  });

  it("has percentiles 0 and 100 at the extremes", () => {
    expect(percentile([1, 5, 9], 0)).toBe(1);
    expect(percentile([1, 5, 9], 100)).toBe(9);
  });
});

describe("paired ratios", () => {
  it("divide each repetition's tool time by the floor time measured beside it", () => {
    expect(
      pairedRatios([
        { tool: 3, floor: 2 },
        { tool: 5, floor: 4 },
      ]),
    ).toEqual([1.5, 1.25]);
  });

  it("cancel a machine that is twice as slow at times, which a ratio of medians does not", () => {
    // The tool takes 1.2x its floor at the same moment; four of its seven repetitions fell in a
    // slow spell, which a floor measured at other moments (two slow of seven) did not share.
    const slowness = [1, 1, 2, 2, 2, 1, 2];
    const pairs = slowness.map((s) => ({ tool: 1200 * s, floor: 1000 * s }));
    const ratios = pairedRatios(pairs);
    expect(median(ratios)).toBeCloseTo(1.2, 10);
    expect(interquartileRange(ratios)).toBeCloseTo(0, 10);
    const floorElsewhere = [1, 1, 1, 1, 1, 2, 2].map((s) => 1000 * s);
    expect(median(pairs.map((p) => p.tool)) / median(floorElsewhere)).toBeCloseTo(2.4, 10);
  });

  it("refuse a floor time that is not positive", () => {
    expect(() => pairedRatios([{ tool: 1, floor: 0 }])).toThrow(/positive floor/);
  });
});

describe("paired differences per migration", () => {
  it("are each repetition's (tool − floor) / N", () => {
    expect(
      pairedDeltas(
        [
          { tool: 3500, floor: 2500 },
          { tool: 2000, floor: 2200 },
        ],
        1000,
      ),
    ).toEqual([1, -0.2]);
  });

  it("refuse N that is not positive", () => {
    expect(() => pairedDeltas([{ tool: 1, floor: 1 }], 0)).toThrow(/n > 0/);
  });
});
