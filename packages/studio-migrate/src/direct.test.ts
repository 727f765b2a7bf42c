import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createTestDatabase } from "@studio/test-postgres";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  events,
  flat,
  migration,
  query,
  removeTempDirs,
  runCli,
  states,
  tableExists,
  tempDir,
  trackedRows,
  WIDGETS,
} from "./testing/cli.ts";
import { REPO_ROOT } from "./testing/paths.ts";

let database: { url: string; drop(): Promise<void> };

beforeEach(async () => {
  database = await createTestDatabase("cli_direct");
});
afterEach(async () => {
  await database.drop();
});
afterAll(() => removeTempDirs());

/** The CLI in direct mode on this test's database, as the actor `tester`. */
function cli(dir: string, ...args: string[]) {
  return runCli([...args, "--migrations-dir", dir, "--actor", "tester"], {
    env: { DATABASE_URL: database.url },
  });
}

describe("status", () => {
  it("lists every migration as pending on a fresh database, and writes nothing", async () => {
    const dir = tempDir(WIDGETS);

    const result = await cli(dir, "status");

    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/MIGRATION\s+STATE/);
    for (const name of ["001_create_widgets", "002_add_widget_name", "003_create_gadgets"]) {
      expect(result.stdout).toMatch(new RegExp(`${name}\\s+pending`));
    }
    expect(result.stdout).toContain("0 applied, 3 pending, no problems.");
    expect(result.stdout).not.toContain("\u001b[");
    expect(await tableExists(database.url, "platform.schema_migrations")).toBe(false);
  });

  it("fails plainly when the migrations directory does not exist", async () => {
    const result = await cli(join(tempDir(), "nope"), "status");

    expect(result.code).toBe(1);
    expect(flat(result.stderr)).toMatch(/migrations directory .*nope does not exist/);
    expect(flat(result.stderr)).toContain("--migrations-dir");
  });

  it("fails with exit 1 when the database cannot be reached, without printing its password", async () => {
    const result = await runCli(["status", "--migrations-dir", tempDir(WIDGETS)], {
      env: { DATABASE_URL: "postgres://someone:hunter2secret@127.0.0.1:1/nowhere" },
    });

    expect(result.code).toBe(1);
    expect(flat(result.stderr)).toMatch(
      /^error: Cannot (use|connect to) the database at postgres:\/\/someone@127\.0\.0\.1:1\/nowhere/,
    );
    expect(flat(result.stderr)).toContain("ECONNREFUSED");
    expect(result.stdout + result.stderr).not.toContain("hunter2secret");
  });
});

describe("apply", () => {
  it("applies every pending migration in order, a line each with its time, then does nothing", async () => {
    const dir = tempDir(WIDGETS);

    const first = await cli(dir, "apply");

    expect(first.code).toBe(0);
    expect(first.stderr).toBe("");
    const lines = first.stdout.split("\n").filter((line) => /^\s+applied\s/.test(line));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^ {2}applied\s+(<1|\d+) ms {2}001_create_widgets$/);
    expect(lines[1]).toMatch(/002_add_widget_name$/);
    expect(lines[2]).toMatch(/003_create_gadgets$/);
    expect(first.stdout).toMatch(/Applied 3 migrations in /);
    expect(await states(database.url)).toEqual({
      "001_create_widgets": "applied",
      "002_add_widget_name": "applied",
      "003_create_gadgets": "applied",
    });
    expect((await trackedRows(database.url)).map((row) => row.applied_by)).toEqual([
      "tester",
      "tester",
      "tester",
    ]);
    expect(await tableExists(database.url, "gadgets")).toBe(true);

    const again = await cli(dir, "apply");

    expect(again.code).toBe(0);
    expect(again.stdout).toContain("Nothing to apply: every migration is applied.");
    expect(await events(database.url)).toHaveLength(3);
  });

  it("applies exactly a named migration, and refuses one with earlier migrations pending", async () => {
    const dir = tempDir(WIDGETS);

    const one = await cli(dir, "apply", "001_create_widgets");
    expect(one.code).toBe(0);
    expect(await states(database.url)).toEqual({ "001_create_widgets": "applied" });

    const refused = await cli(dir, "apply", "003_create_gadgets");
    expect(refused.code).toBe(1);
    expect(flat(refused.stderr)).toContain(
      "earlier migration is still pending: 002_add_widget_name",
    );
    // Pasteable: the command carries the run's own target flags.
    expect(flat(refused.stderr)).toContain(
      `\`studio-migrate apply --to 003_create_gadgets --migrations-dir ${dir} --actor tester\``,
    );
    expect(await states(database.url)).toEqual({ "001_create_widgets": "applied" });
  });

  it("applies everything up to --to and nothing after it", async () => {
    const dir = tempDir(WIDGETS);

    const result = await cli(dir, "apply", "--to", "002_add_widget_name");

    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Applied 2 migrations");
    expect(await states(database.url)).toEqual({
      "001_create_widgets": "applied",
      "002_add_widget_name": "applied",
    });
    expect(await tableExists(database.url, "gadgets")).toBe(false);
  });

  it("stops at a failing migration: exit 1, its name and Postgres's message on stderr, nothing of it applied", async () => {
    const dir = tempDir({
      "001_create_widgets.sql": WIDGETS["001_create_widgets.sql"] as string,
      "002_broken.sql": migration("create table half_done (id int);\ninsert into nope values (1);"),
      "003_create_gadgets.sql": WIDGETS["003_create_gadgets.sql"] as string,
    });

    const result = await cli(dir, "apply");

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/applied .* 001_create_widgets/);
    expect(result.stdout).toMatch(/FAILED .* 002_broken/);
    expect(result.stdout).toMatch(/skipped .* 003_create_gadgets/);
    expect(flat(result.stderr)).toContain(
      'error: Migration 002_broken failed: relation "nope" does not exist',
    );
    expect(flat(result.stderr)).toContain("SQLSTATE 42P01");
    expect(flat(result.stderr)).toMatch(/hint: It ran in a transaction that was rolled back/);
    expect(await states(database.url)).toEqual({
      "001_create_widgets": "applied",
      "002_broken": "failed",
    });
    expect(await tableExists(database.url, "half_done")).toBe(false);
    expect(await tableExists(database.url, "gadgets")).toBe(false);
  });

  it("prints the plan and the exact SQL on --dry-run, and changes nothing", async () => {
    const dir = tempDir(WIDGETS);

    const result = await cli(dir, "apply", "--to", "002_add_widget_name", "--dry-run");

    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Would apply 2 migrations, in this order:");
    expect(result.stdout).toContain("create table widgets (id int primary key);");
    expect(result.stdout).toContain("alter table widgets add column name text;");
    expect(result.stdout).not.toContain("gadgets");
    expect(result.stdout).toContain("Dry run: nothing was changed.");
    expect(await tableExists(database.url, "widgets")).toBe(false);
    expect(await trackedRows(database.url)).toEqual([]);
  });
});

describe("drift", () => {
  it("makes status exit 1 and apply refuse, until the new checksum is accepted", async () => {
    const dir = tempDir(WIDGETS);
    await cli(dir, "apply", "001_create_widgets");
    writeFileSync(
      join(dir, "001_create_widgets.sql"),
      migration("create table widgets (id int primary key); -- a comment", "drop table widgets;"),
    );

    const status = await cli(dir, "status");
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/001_create_widgets\s+applied\s.*DRIFT/);
    expect(flat(status.stdout)).toContain(
      "drift, blocks applies: 001_create_widgets changed on disk",
    );
    expect(flat(status.stdout)).toContain(
      `\`studio-migrate resolve 001_create_widgets --accept-checksum --migrations-dir ${dir} --actor tester\``,
    );
    expect(flat(status.stderr)).toMatch(/^error: 1 problem to look at \(1 blocking applies\)/);

    const apply = await cli(dir, "apply");
    expect(apply.code).toBe(1);
    expect(flat(apply.stderr)).toContain(
      "changed on disk since it was applied: 001_create_widgets",
    );
    expect(await states(database.url)).toEqual({ "001_create_widgets": "applied" });

    const resolve = await cli(dir, "resolve", "001_create_widgets", "--accept-checksum");
    expect(resolve.code).toBe(0);
    expect(resolve.stdout).toContain(
      "Resolved 001_create_widgets (--accept-checksum): applied (drifted) → applied.",
    );
    expect((await cli(dir, "status")).code).toBe(0);
    expect((await cli(dir, "apply")).code).toBe(0);
    expect(Object.keys(await states(database.url))).toHaveLength(3);
  });
});

describe("rollback", () => {
  it("runs the down section of the most recent migration, and refuses any other", async () => {
    const dir = tempDir(WIDGETS);
    await cli(dir, "apply");

    const refused = await cli(dir, "rollback", "002_add_widget_name");
    expect(refused.code).toBe(1);
    expect(flat(refused.stderr)).toContain(
      "Cannot roll back 002_add_widget_name: 003_create_gadgets was applied after it",
    );
    expect((await states(database.url))["002_add_widget_name"]).toBe("applied");

    const result = await cli(dir, "rollback", "003_create_gadgets");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/rolled back .* 003_create_gadgets/);
    expect(await tableExists(database.url, "gadgets")).toBe(false);
    const row = (await trackedRows(database.url)).find(
      (r) => r.migration_name === "003_create_gadgets",
    );
    expect(row).toMatchObject({ status: "rolled_back", rolled_back_by: "tester" });
  });

  it("--mark-only records the rollback without running SQL", async () => {
    const dir = tempDir(WIDGETS);
    await cli(dir, "apply");

    const result = await cli(dir, "rollback", "003_create_gadgets", "--mark-only");

    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      "Marked 003_create_gadgets as rolled back without running any SQL",
    );
    expect(await tableExists(database.url, "gadgets")).toBe(true);
    expect((await states(database.url))["003_create_gadgets"]).toBe("rolled_back");
  });

  it("--dry-run prints the down SQL and changes nothing", async () => {
    const dir = tempDir(WIDGETS);
    await cli(dir, "apply");

    const result = await cli(dir, "rollback", "003_create_gadgets", "--dry-run");

    expect(result.code).toBe(0);
    expect(result.stdout).toContain("drop table gadgets;");
    expect(await tableExists(database.url, "gadgets")).toBe(true);
    expect((await states(database.url))["003_create_gadgets"]).toBe("applied");
  });

  it("says a failed down section changed nothing when it ran in a transaction", async () => {
    const dir = tempDir({
      "001_create_widgets.sql": migration(
        "create table widgets (id int primary key);\ncreate table gizmos (id int);",
        "drop table gizmos;\ndrop table nope;",
      ),
    });
    await cli(dir, "apply");

    const result = await cli(dir, "rollback", "001_create_widgets", "--json");

    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).result).toMatchObject({
      status: "failed",
      transactional: true,
    });
    expect(flat(result.stderr)).toContain(
      'error: Rollback of 001_create_widgets failed: table "nope" does not exist',
    );
    expect(flat(result.stderr)).toContain(
      "hint: The down section ran in a transaction that was rolled back: 001_create_widgets is still applied.",
    );
    expect(await states(database.url)).toEqual({ "001_create_widgets": "applied" });
    expect(await tableExists(database.url, "gizmos")).toBe(true);
    expect((await cli(dir, "status")).code).toBe(0);
  });

  it("says a failed transaction:false down section kept what ran before it, and blocks until resolved", async () => {
    const dir = tempDir({
      "001_create_widgets.sql":
        "-- migrate:up\ncreate table widgets (id int primary key);\ncreate table gizmos (id int);\n" +
        "-- migrate:down transaction:false\ndrop table gizmos;\ndrop table nope;\ndrop table widgets;\n",
      "002_create_gadgets.sql": WIDGETS["003_create_gadgets.sql"] as string,
    });
    await cli(dir, "apply", "001_create_widgets");

    const result = await cli(dir, "rollback", "001_create_widgets");

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAILED .* 001_create_widgets/);
    const stderr = flat(result.stderr);
    expect(stderr).toContain(
      'error: Rollback of 001_create_widgets failed: table "nope" does not exist',
    );
    expect(stderr).toContain(
      "hint: The down section ran outside a transaction, so the statements before the failing one stay done, and 001_create_widgets is now failed: applies are blocked until it is resolved.",
    );
    expect(stderr).not.toMatch(/in a transaction|rolled back:/);
    // What the hint says: the first statement stayed done, the row is failed and blocks.
    expect(await tableExists(database.url, "gizmos")).toBe(false);
    expect(await tableExists(database.url, "widgets")).toBe(true);
    expect(await states(database.url)).toEqual({ "001_create_widgets": "failed" });
    expect((await cli(dir, "status")).code).toBe(1);
    expect((await cli(dir, "apply")).code).toBe(1);
    expect(await tableExists(database.url, "gadgets")).toBe(false);

    // And the way out it names works: finish the down by hand, then record that.
    await query(database.url, "drop table widgets");
    const resolved = await cli(dir, "resolve", "001_create_widgets", "--rolled-back");
    expect(resolved.code).toBe(0);
    expect(await states(database.url)).toEqual({ "001_create_widgets": "rolled_back" });
    expect((await cli(dir, "apply")).code).toBe(0);
    expect(await tableExists(database.url, "gadgets")).toBe(true);
  });
});

describe("baseline and resolve", () => {
  it("baseline records migrations as applied without running them", async () => {
    const dir = tempDir(WIDGETS);

    const result = await cli(dir, "baseline", "--to", "002_add_widget_name");

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/baselined\s+001_create_widgets/);
    expect(result.stdout).toMatch(/baselined\s+002_add_widget_name/);
    expect(result.stdout).toContain("Recorded 2 migrations as applied without running any SQL");
    expect(await states(database.url)).toEqual({
      "001_create_widgets": "applied",
      "002_add_widget_name": "applied",
    });
    expect(await tableExists(database.url, "widgets")).toBe(false);
    expect((await events(database.url)).map((e) => e.action)).toEqual(["baseline", "baseline"]);
  });

  it("resolve --applied clears a migration that failed outside a transaction", async () => {
    const dir = tempDir({
      "001_half_done.sql":
        "-- migrate:up transaction:false\ncreate table half_done (id int);\ninsert into nope values (1);\n",
      "002_create_gadgets.sql": WIDGETS["003_create_gadgets.sql"] as string,
    });
    const failed = await cli(dir, "apply");
    expect(failed.code).toBe(1);
    expect(flat(failed.stderr)).toContain("It ran outside a transaction");
    expect(await tableExists(database.url, "half_done")).toBe(true);

    const status = await cli(dir, "status");
    expect(status.code).toBe(1);
    expect(flat(status.stdout)).toContain("failed, blocks applies: 001_half_done failed outside");
    const blocked = await cli(dir, "apply");
    expect(blocked.code).toBe(1);
    expect(flat(blocked.stderr)).toContain("Applies are blocked");

    const result = await cli(dir, "resolve", "001_half_done", "--applied");

    expect(result.code).toBe(0);
    expect(result.stdout).toContain("Resolved 001_half_done (--applied): failed → applied.");
    expect(await states(database.url)).toEqual({ "001_half_done": "applied" });
    expect((await events(database.url)).at(-1)).toMatchObject({
      migration_name: "001_half_done",
      action: "resolve",
      outcome: "succeeded",
      actor: "tester",
    });
    expect((await cli(dir, "apply")).code).toBe(0);
    expect(await tableExists(database.url, "gadgets")).toBe(true);
  });

  it("baseline is refused over a migration failed outside a transaction; the hints name it whole (dbmate's names)", async () => {
    const dir = tempDir({
      "20240101120000_create-widgets.sql": WIDGETS["001_create_widgets.sql"] as string,
      "20240102000000_half-done.v2.sql":
        "-- migrate:up transaction:false\ncreate table half_done (id int);\ninsert into nope values (1);\n",
      "20240103000000_create-gadgets.sql": WIDGETS["003_create_gadgets.sql"] as string,
    });
    expect((await cli(dir, "apply")).code).toBe(1);
    const before = await states(database.url);
    const eventsBefore = (await events(database.url)).length;

    const result = await cli(dir, "baseline", "--to", "20240103000000_create-gadgets");

    expect(result.code).toBe(1);
    const stderr = flat(result.stderr);
    expect(stderr).toContain(
      "Baseline is refused: 20240102000000_half-done.v2 (failed) ran outside a transaction",
    );
    expect(stderr).toContain("studio-migrate resolve 20240102000000_half-done.v2 --applied");
    expect(stderr).toContain("studio-migrate resolve 20240102000000_half-done.v2 --rolled-back");
    expect(await states(database.url)).toEqual(before);
    expect(await events(database.url)).toHaveLength(eventsBefore);
    const blocked = await cli(dir, "apply");
    expect(flat(blocked.stderr)).toContain(
      "studio-migrate resolve 20240102000000_half-done.v2 --applied",
    );

    expect((await cli(dir, "resolve", "20240102000000_half-done.v2", "--rolled-back")).code).toBe(
      0,
    );
    expect((await cli(dir, "baseline", "--to", "20240103000000_create-gadgets")).code).toBe(0);
    expect(await states(database.url)).toEqual({
      "20240101120000_create-widgets": "applied",
      "20240102000000_half-done.v2": "applied",
      "20240103000000_create-gadgets": "applied",
    });
  });

  it("resolve refuses a resolution that does not fit the migration's state", async () => {
    const dir = tempDir(WIDGETS);
    await cli(dir, "apply");

    const result = await cli(dir, "resolve", "001_create_widgets", "--applied");

    expect(result.code).toBe(1);
    expect(flat(result.stderr)).toContain("001_create_widgets is already recorded as applied.");
  });
});

describe("history", () => {
  it("pages the audit trail newest first, printing the next cursor", async () => {
    const dir = tempDir(WIDGETS);
    await cli(dir, "apply");
    await cli(dir, "rollback", "003_create_gadgets");

    const first = await cli(dir, "history", "--limit", "2");

    expect(first.code).toBe(0);
    const rows = first.stdout.split("\n").filter((line) => /^\d{4}-\d\d-\d\d /.test(line));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/003_create_gadgets\s+rollback\s+succeeded/);
    expect(rows[1]).toMatch(/003_create_gadgets\s+apply\s+succeeded/);
    const cursor = /Next cursor: (\d+)/.exec(first.stdout)?.[1];
    expect(cursor).toBeDefined();

    const older = await cli(dir, "history", "--limit", "2", "--cursor", cursor as string);
    expect(older.code).toBe(0);
    expect(older.stdout).toMatch(/002_add_widget_name\s+apply/);
    expect(older.stdout).toMatch(/001_create_widgets\s+apply/);
    expect(older.stdout).not.toContain("Next cursor");

    const one = await cli(dir, "history", "--migration", "001_create_widgets");
    expect(one.stdout).toMatch(/001_create_widgets/);
    expect(one.stdout).not.toMatch(/002_add_widget_name|003_create_gadgets/);
  });
});

describe("--json", () => {
  it("prints exactly one JSON document for status, apply and history, with ISO dates", async () => {
    const dir = tempDir(WIDGETS);

    const status = await cli(dir, "status", "--json");
    expect(status.code).toBe(0);
    const report = JSON.parse(status.stdout);
    expect(report).toMatchObject({ ok: true, command: "status", target: { mode: "direct" } });
    expect(report.result.pending.map((m: { name: string }) => m.name)).toEqual([
      "001_create_widgets",
      "002_add_widget_name",
      "003_create_gadgets",
    ]);

    const apply = await cli(dir, "apply", "--json");
    expect(apply.code).toBe(0);
    const applied = JSON.parse(apply.stdout);
    expect(applied.ok).toBe(true);
    expect(applied.result.results.map((r: { status: string }) => r.status)).toEqual([
      "applied",
      "applied",
      "applied",
    ]);

    const history = await cli(dir, "history", "--json");
    const page = JSON.parse(history.stdout);
    expect(page.result.events).toHaveLength(3);
    expect(page.result.events[0].at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(page.result.nextCursor).toBeNull();
  });

  it("reports a failure as a JSON document too, with the reason also on stderr", async () => {
    const dir = tempDir({ "001_broken.sql": migration("insert into nope values (1);") });

    const result = await cli(dir, "apply", "--json");

    expect(result.code).toBe(1);
    const document = JSON.parse(result.stdout);
    expect(document).toMatchObject({
      ok: false,
      command: "apply",
      error: {
        code: "MIGRATION_FAILED",
        migrationName: "001_broken",
        failure: { code: "42P01", message: 'relation "nope" does not exist' },
      },
    });
    expect(document.result.failed.migrationName).toBe("001_broken");
    expect(flat(result.stderr)).toContain("error: Migration 001_broken failed");
  });

  it("answers a status with problems with ok: false and the report", async () => {
    const dir = tempDir(WIDGETS);
    await cli(dir, "apply");
    await query(
      database.url,
      "update platform.schema_migrations set checksum = 'x' where migration_name = '002_add_widget_name'",
    );

    const result = await cli(dir, "status", "--json");

    expect(result.code).toBe(1);
    const document = JSON.parse(result.stdout);
    expect(document.ok).toBe(false);
    expect(document.error.code).toBe("PROBLEMS");
    expect(document.result.problems).toMatchObject([
      { kind: "drift", migrationName: "002_add_widget_name", blocking: true },
    ]);
  });
});

describe("the repository's migrations", () => {
  it("apply all of migrations/ and report them in 80 columns", async () => {
    const dir = join(REPO_ROOT, "migrations");

    const apply = await cli(dir, "apply");

    expect(apply.code).toBe(0);
    expect(apply.stdout.split("\n").filter((line) => /^\s+applied\s/.test(line))).toHaveLength(9);
    expect(await tableExists(database.url, "platform.users")).toBe(true);
    const columns = await query<{ column_name: string }>(
      database.url,
      "select column_name from information_schema.columns where table_schema = 'platform' and table_name = 'users'",
    );
    expect(columns.map((c) => c.column_name)).toContain("active_org_id");

    const status = await cli(dir, "status");
    expect(status.code).toBe(0);
    expect(status.stdout).toContain("9 applied, nothing pending, no problems.");
    expect(status.stdout).toContain("005_create_organization_invitations");
    const history = await cli(dir, "history");
    expect(history.code).toBe(0);
    for (const output of [apply.stdout, status.stdout, history.stdout]) {
      for (const line of output.split("\n")) expect(line.length).toBeLessThanOrEqual(80);
    }
  });
});
