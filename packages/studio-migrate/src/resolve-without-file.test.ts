import { rmSync } from "node:fs";
import { join } from "node:path";
import { startedMessage } from "@studio/migrations-core";
import { TRACKING_TABLES_SQL } from "@studio/migrations-postgres";
import { createTestDatabase } from "@studio/test-postgres";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  events,
  flat,
  query,
  removeTempDirs,
  runCli,
  states,
  tempDir,
  trackedRows,
} from "./testing/cli.ts";

// SPEC §4 *Records without a file*: a migration recorded failed (or interrupted) whose file is gone
// can still be resolved, `--applied` too, after which it is no longer a problem.

let database: { url: string; drop(): Promise<void> };

beforeEach(async () => {
  database = await createTestDatabase("cli_resolve_gone");
});
afterEach(async () => {
  await database.drop();
});
afterAll(() => removeTempDirs());

function cli(dir: string, ...args: string[]) {
  return runCli([...args, "--migrations-dir", dir, "--actor", "tester"], {
    env: { DATABASE_URL: database.url },
  });
}

describe("resolve --applied of a migration whose file is gone", () => {
  it("records it applied with the checksum its attempt recorded, and status has no problem left", async () => {
    const dir = tempDir({
      "001_half_done.sql":
        "-- migrate:up transaction:false\ncreate table half_done (id int);\ninsert into nope values (1);\n",
    });
    expect((await cli(dir, "apply")).code).toBe(1);
    const [failed] = await trackedRows(database.url);
    rmSync(join(dir, "001_half_done.sql"));
    const before = await cli(dir, "status");
    expect(before.code).toBe(1);
    expect(flat(before.stdout)).toContain(
      "001_half_done is recorded as failed but its file is missing",
    );

    const result = await cli(dir, "resolve", "001_half_done", "--applied");

    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Resolved 001_half_done (--applied): failed → applied.");
    expect(await trackedRows(database.url)).toMatchObject([
      { migration_name: "001_half_done", status: "applied", checksum: failed?.checksum },
    ]);
    expect((await events(database.url)).at(-1)).toMatchObject({
      migration_name: "001_half_done",
      action: "resolve",
      outcome: "succeeded",
      actor: "tester",
    });
    const after = await cli(dir, "status");
    expect(after.code).toBe(0);
    // Shown for what it is — applied, its file missing — but no longer a problem.
    expect(after.stdout).toMatch(/001_half_done\s+applied\s.*file missing/);
    expect(after.stdout).toContain("1 applied, nothing pending, no problems.");
  });

  it("records an interrupted one's failed attempt first, then the resolve", async () => {
    const dir = tempDir();
    // What a `transaction:false` runner's claim leaves when its process is killed mid-way; then
    // its file went too.
    await query(database.url, TRACKING_TABLES_SQL);
    await query(
      database.url,
      `insert into platform.schema_migrations
         (migration_name, status, applied_by, error_message, execution_time_ms, checksum)
       values ('001_gone', 'failed', 'replica-1', $1, null, 'recorded-sum')`,
      [startedMessage("replica-1")],
    );
    const before = await cli(dir, "status");
    expect(before.code).toBe(1);

    const result = await cli(dir, "resolve", "001_gone", "--applied");

    expect(result.code).toBe(0);
    expect(await states(database.url)).toEqual({ "001_gone": "applied" });
    expect(
      (await events(database.url)).map((e) => [e.migration_name, e.action, e.outcome, e.actor]),
    ).toEqual([
      ["001_gone", "apply", "failed", "replica-1"],
      ["001_gone", "resolve", "succeeded", "tester"],
    ]);
    expect((await cli(dir, "status")).code).toBe(0);
  });
});
