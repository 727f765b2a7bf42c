import { isValidMigrationName, MAX_HISTORY_LIMIT } from "@studio/migrations-core";
import { describe, expect, it } from "vitest";
import { HISTORY_LIMIT_MAX, MIGRATION_NAME, parseInvocation } from "./args.ts";

describe("argv parsing", () => {
  it("restates the core's migration name rule exactly", () => {
    for (const name of [
      "008_add_active_org_tracking",
      "000_x",
      "20240101120000_add_things",
      "01_too_short",
      "008-add",
      "008_Add",
      "008_",
      "abc_def",
      "008_add.sql",
      "008_add\n",
      "",
    ]) {
      expect(MIGRATION_NAME.test(name), name).toBe(isValidMigrationName(name));
    }
  });

  it("restates the core's history page limit", () => {
    expect(HISTORY_LIMIT_MAX).toBe(MAX_HISTORY_LIMIT);
  });

  it("takes options before or after the command", () => {
    expect(parseInvocation(["--json", "apply", "--to", "002_b", "--dry-run"])).toEqual(
      parseInvocation(["apply", "--dry-run", "--to", "002_b", "--json"]),
    );
  });
});
