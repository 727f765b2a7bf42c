import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  compareMigrationNames,
  isMigrationFileName,
  migrationPrefix,
  migrationSortKey,
} from "./migration.ts";
import { isValidMigrationName, MIGRATION_NAME_PATTERN } from "./rules.ts";

describe("migrationSortKey", () => {
  it("orders names exactly as compareMigrationNames does (property)", () => {
    const name = fc.oneof(
      fc
        .tuple(
          fc.stringMatching(/^[0-9]{1,14}$/),
          fc.constantFrom("", "_", "-"),
          fc.stringMatching(/^[A-Za-z0-9_.-]{0,6}$/),
        )
        .map(([prefix, separator, rest]) => `${prefix}${separator}${separator ? rest : ""}`),
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

  it("sorts by the numeric version, zeros or not, then by name, and invalid names last", () => {
    const names = [
      "010_b",
      "Z",
      "0009_a",
      "009_b",
      "100_a",
      "001_x",
      "abc",
      "1-x",
      "20240101120000_create-users-table",
      "20240101120000",
      "2",
      "001..x",
    ];
    expect(names.sort((a, b) => (migrationSortKey(a) < migrationSortKey(b) ? -1 : 1))).toEqual([
      "001_x",
      "1-x",
      "2",
      "0009_a",
      "009_b",
      "010_b",
      "100_a",
      "20240101120000",
      "20240101120000_create-users-table",
      "001..x",
      "Z",
      "abc",
    ]);
  });
});

describe("the migration name rule (SPEC §2)", () => {
  it("takes dbmate's names and a bare version; the version is the leading digits", () => {
    for (const [name, version] of [
      ["20240101120000_create-users-table", "20240101120000"],
      ["20240101120000", "20240101120000"],
      ["008_add_active_org_tracking", "008"],
      ["1-Add.Things_v2", "1"],
      ["007_", "007"],
    ] as const) {
      expect(isValidMigrationName(name), name).toBe(true);
      expect(migrationPrefix(name), name).toBe(version);
      expect(isMigrationFileName(`${name}.sql`), name).toBe(true);
    }
  });

  it("refuses anything else: no digits first, other characters, .., over 200 characters", () => {
    for (const name of [
      "",
      "abc",
      "_001",
      "001 x",
      "001.x",
      "001_a..b",
      "001_a/b",
      "001_a\\b",
      "001_ä",
      "001_x\n",
      `1_${"x".repeat(198)}x`,
    ]) {
      expect(isValidMigrationName(name), JSON.stringify(name)).toBe(false);
      expect(migrationPrefix(name)).toBeNull();
    }
    expect(isValidMigrationName(`1_${"x".repeat(198)}`)).toBe(true);
    expect(isMigrationFileName("001_a.SQL")).toBe(false);
    expect(isMigrationFileName("001_a")).toBe(false);
  });

  it("is one pattern: MIGRATION_NAME_PATTERN says exactly what isValidMigrationName says (property)", () => {
    const name = fc.oneof(
      fc.stringMatching(/^[0-9]{1,4}([_-][A-Za-z0-9_.-]{0,8})?$/),
      fc.string({ maxLength: 12 }),
      fc.string({ minLength: 195, maxLength: 205 }).map((s) => `1_${s.replace(/[^a-z]/g, "a")}`),
    );
    fc.assert(
      fc.property(name, (n) => {
        expect(MIGRATION_NAME_PATTERN.test(n)).toBe(isValidMigrationName(n));
        expect(isValidMigrationName(n)).toBe(
          n.length <= 200 && !n.includes("..") && /^[0-9]+([_-][A-Za-z0-9_.-]*)?$/.test(n),
        );
      }),
    );
  });
});
