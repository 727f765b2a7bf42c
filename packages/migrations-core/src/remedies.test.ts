import { describe, expect, it } from "vitest";
import { createMigrationEngine } from "./engine.ts";
import {
  describeRemedy,
  isLockNotAvailable,
  type Remedy,
  type RemedyKind,
  remedyMigrationNames,
} from "./remedies.ts";
import { memorySource } from "./sources.ts";
import { createMemoryDatabase, MemoryExecutor } from "./testing/memory-executor.ts";

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
  wait_for_lock: { kind: "wait_for_lock", migrationName: "008_h" },
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

describe("a migration that gave up on a lock", () => {
  const failing = async (sql: string) => {
    const database = createMemoryDatabase();
    database.tables.add("busy");
    database.lockedTables.add("busy");
    const engine = createMigrationEngine({
      executor: new MemoryExecutor({ database, timeouts: { lockTimeoutMs: 20 } }),
      source: memorySource([{ name: "001_busy", sql }]),
    });
    const report = await engine.apply({ actor: "ops" });
    return { report, status: await engine.list() };
  };

  it("is told to wait for the lock's holder, not to fix its SQL", async () => {
    const { report, status } = await failing("ALTER TABLE busy ADD COLUMN note text;\n");
    expect(report.failed?.error?.code).toBe("55P03");
    expect(status.problems.map((p) => [p.kind, p.remedy])).toEqual([
      ["failed", { kind: "wait_for_lock", migrationName: "001_busy" }],
    ]);
    expect(status.problems[0]?.hint).toContain("End or wait for the session holding the lock");
  });

  it("leaves a migration whose SQL failed told to fix it", async () => {
    const { report, status } = await failing(
      "CREATE TABLE other (id int);\nCREATE TABLE other (id int);\n",
    );
    expect(report.failed?.error?.code).not.toBe("55P03");
    expect(status.problems.map((p) => [p.kind, p.remedy])).toEqual([
      ["failed", { kind: "fix_and_apply", migrationName: "001_busy" }],
    ]);
  });

  it("is known by its SQLSTATE, or by the words recorded for it when that is all there is", () => {
    expect(isLockNotAvailable({ code: "55P03", message: "anything" })).toBe(true);
    expect(
      isLockNotAvailable({ code: "42P01", message: "canceling statement due to lock timeout" }),
    ).toBe(false);
    for (const message of [
      "Waited 15.0 s for a lock (3 attempts, lock_timeout 5000 ms each) and gave up: canceling statement due to lock timeout.",
      "Waited for a lock (2 attempts, the database's lock_timeout of 5s each) and gave up: la sentencia fue cancelada.",
      'Could not take a lock without waiting (NOWAIT; 1 attempt) and gave up: could not obtain lock on relation "busy".',
      "canceling statement due to lock timeout",
    ]) {
      expect(isLockNotAvailable({ message })).toBe(true);
    }
    for (const message of ['relation "busy" does not exist', "Waited: no lock here", null]) {
      expect(isLockNotAvailable({ message })).toBe(false);
    }
  });
});
