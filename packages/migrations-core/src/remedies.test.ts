import { describe, expect, it } from "vitest";
import { describeRemedy, type Remedy, type RemedyKind, remedyMigrationNames } from "./remedies.ts";

/** One of each kind: a kind added to `Remedy` without an example here fails to compile. */
const EXAMPLES: { [K in RemedyKind]: Extract<Remedy, { kind: K }> } = {
  wait_for_other_run: { kind: "wait_for_other_run" },
  resolve: { kind: "resolve", migrationName: "004_d", attempt: "apply" },
  restore_or_accept_checksum: {
    kind: "restore_or_accept_checksum",
    migrationNames: ["001_a", "002_b"],
  },
  allow_out_of_order: { kind: "allow_out_of_order", migrationNames: ["003_c"] },
  apply_up_to: { kind: "apply_up_to", migrationName: "005_e", lastPendingBefore: "004_d" },
  roll_back_first: { kind: "roll_back_first", migrationName: "006_f" },
  mark_rolled_back: { kind: "mark_rolled_back", migrationName: "000_tracking", inRun: true },
  restore_file: { kind: "restore_file", migrationName: "002_b", recorded: "failed" },
  fix_and_apply: { kind: "fix_and_apply", migrationName: "007_g" },
  fix_file: { kind: "fix_file", file: "009_bad.sql", blocking: true },
  check_name: { kind: "check_name", migrationName: "99_nope" },
  name_history_table: { kind: "name_history_table", tool: "dbmate" },
  name_applied_migration: { kind: "name_applied_migration", migrationName: "003_c" },
  fewer_steps: { kind: "fewer_steps", applied: 2 },
  refresh_and_retry: { kind: "refresh_and_retry" },
  check_state_then_retry: { kind: "check_state_then_retry" },
};

describe("describeRemedy", () => {
  it.each(Object.values(EXAMPLES))("words $kind without any face's option names", (remedy) => {
    const text = describeRemedy(remedy);
    expect(text).toMatch(/\.$/);
    // tRPC inputs, REST fields and CLI flags belong to the faces that word remedies themselves.
    expect(text).not.toMatch(/upTo|markOnly|accept_checksum|allowOutOfOrder|rolled_back|--|`/);
    for (const name of remedyMigrationNames(remedy)) expect(text).toContain(name);
  });

  it("turns around what each resolution means for an unfinished rollback", () => {
    const apply = describeRemedy({ kind: "resolve", migrationName: "004_d", attempt: "apply" });
    const rollback = describeRemedy({
      kind: "resolve",
      migrationName: "004_d",
      attempt: "rollback",
    });
    expect(apply).toContain("as applied (finished by hand)");
    expect(rollback).toContain("as rolled back (its down section finished by hand)");
  });
});
