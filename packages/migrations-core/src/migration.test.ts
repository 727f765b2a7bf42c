import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareMigrationNames, migrationSortKey } from "./migration.ts";

describe("migrationSortKey", () => {
  it("orders names exactly as compareMigrationNames does (property)", () => {
    const name = fc.oneof(
      fc
        .tuple(fc.stringMatching(/^[0-9]{3,14}$/), fc.stringMatching(/^[a-z0-9_]{1,6}$/))
        .map(([prefix, rest]) => `${prefix}_${rest}`),
      fc.string({ maxLength: 10 }),
    );
    const sign = (n: number) => (n < 0 ? -1 : n > 0 ? 1 : 0);
    fc.assert(
      fc.property(name, name, (a, b) => {
        const [x, y] = [migrationSortKey(a), migrationSortKey(b)];
        expect(sign(x < y ? -1 : x > y ? 1 : 0)).toBe(sign(compareMigrationNames(a, b)));
      }),
      { numRuns: 5_000 },
    );
  });

  it("sorts by the numeric prefix, zeros or not, then by name, and invalid names last", () => {
    const names = ["010_b", "Z", "0009_a", "009_b", "100_a", "001_x", "abc", "1_x"];
    expect(names.sort((a, b) => (migrationSortKey(a) < migrationSortKey(b) ? -1 : 1))).toEqual([
      "001_x",
      "0009_a",
      "009_b",
      "010_b",
      "100_a",
      "1_x",
      "Z",
      "abc",
    ]);
  });
});
