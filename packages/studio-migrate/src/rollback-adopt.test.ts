import { directorySource, type Executor } from "@studio/migrations-core";
import { createPostgresExecutor } from "@studio/migrations-postgres";
import {
  type MigrationsHttpServer,
  startMigrationsHttpServer,
} from "@studio/migrations-trpc/testing";
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
  WIDGETS,
} from "./testing/cli.ts";

// `rollback --to` / `--steps` and `adopt --from`, run as the built CLI against a real PostgreSQL:
// directly (--database-url) and through a Studio (--url). Each test checks the database after.

const SECRET = "correct-horse-battery-staple";

const FOUR: Record<string, string> = {
  ...WIDGETS,
  "004_create_sprockets.sql": migration(
    "create table sprockets (id int primary key);",
    "drop table sprockets;",
  ),
};

let database: { url: string; drop(): Promise<void> };

beforeEach(async () => {
  database = await createTestDatabase("cli_rollback_adopt");
});
afterEach(async () => {
  await database.drop();
});
afterAll(() => removeTempDirs());

/** The CLI in direct mode on this test's database, as the actor `tester`. */
function direct(dir: string, ...args: string[]) {
  return runCli([...args, "--migrations-dir", dir, "--actor", "tester"], {
    env: { DATABASE_URL: database.url },
  });
}

/** dbmate's history table, as dbmate creates it, holding `versions`. */
async function dbmateHistory(versions: string[]) {
  await query(
    database.url,
    "create table public.schema_migrations (version varchar(128) primary key)",
  );
  for (const version of versions) {
    await query(database.url, "insert into public.schema_migrations (version) values ($1)", [
      version,
    ]);
  }
}

describe("rollback --to / --steps (direct)", () => {
  it("--to rolls back everything applied after <name>, newest first, a line per migration", async () => {
    const dir = tempDir(FOUR);
    expect((await direct(dir, "apply")).code).toBe(0);

    const result = await direct(dir, "rollback", "--to", "002_add_widget_name");

    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    const lines = result.stdout.split("\n").filter((line) => /^\s+rolled back\s/.test(line));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^ {2}rolled back\s+(<1|\d+) ms {2}004_create_sprockets$/);
    expect(lines[1]).toMatch(/003_create_gadgets$/);
    expect(flat(result.stdout)).toContain(
      "Rolled back 2 migrations (everything applied after 002_add_widget_name)",
    );
    expect(await states(database.url)).toEqual({
      "001_create_widgets": "applied",
      "002_add_widget_name": "applied",
      "003_create_gadgets": "rolled_back",
      "004_create_sprockets": "rolled_back",
    });
    expect(await tableExists(database.url, "gadgets")).toBe(false);
    expect(await tableExists(database.url, "sprockets")).toBe(false);
    expect(await tableExists(database.url, "widgets")).toBe(true);
    expect((await events(database.url)).slice(-2)).toEqual([
      {
        migration_name: "004_create_sprockets",
        action: "rollback",
        outcome: "succeeded",
        actor: "tester",
      },
      {
        migration_name: "003_create_gadgets",
        action: "rollback",
        outcome: "succeeded",
        actor: "tester",
      },
    ]);
  });

  it("--steps n rolls back the newest n; --dry-run prints every step's SQL and changes nothing", async () => {
    const dir = tempDir(FOUR);
    await direct(dir, "apply");

    const plan = await direct(dir, "rollback", "--steps", "3", "--dry-run");
    expect(plan.code).toBe(0);
    expect(flat(plan.stdout)).toContain(
      "Would roll back 3 migrations (the newest 3 migrations), newest first:",
    );
    expect(plan.stdout).toContain("drop table sprockets;");
    expect(plan.stdout).toContain("drop table gadgets;");
    expect(plan.stdout).toContain("alter table widgets drop column name;");
    expect(plan.stdout.indexOf("drop table sprockets;")).toBeLessThan(
      plan.stdout.indexOf("drop table gadgets;"),
    );
    expect(Object.values(await states(database.url))).toEqual([
      "applied",
      "applied",
      "applied",
      "applied",
    ]);

    const result = await direct(dir, "rollback", "--steps", "3", "--json");
    expect(result.code).toBe(0);
    const document = JSON.parse(result.stdout);
    expect(document).toMatchObject({ ok: true, command: "rollback", result: { steps: 3 } });
    expect(document.result.results.map((r: { migrationName: string }) => r.migrationName)).toEqual([
      "004_create_sprockets",
      "003_create_gadgets",
      "002_add_widget_name",
    ]);
    expect(await states(database.url)).toEqual({
      "001_create_widgets": "applied",
      "002_add_widget_name": "rolled_back",
      "003_create_gadgets": "rolled_back",
      "004_create_sprockets": "rolled_back",
    });
  });

  it("stops at the first failure: exit 1, the Postgres message, the rest not attempted and still applied", async () => {
    const dir = tempDir({
      ...FOUR,
      "003_create_gadgets.sql": migration(
        "create table gadgets (id int primary key);",
        "drop table gadgets_that_do_not_exist;",
      ),
    });
    await direct(dir, "apply");

    const result = await direct(dir, "rollback", "--to", "001_create_widgets");

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/rolled back .* 004_create_sprockets/);
    expect(result.stdout).toMatch(/FAILED .* 003_create_gadgets/);
    expect(result.stdout).toMatch(/skipped .* 002_add_widget_name/);
    expect(flat(result.stdout)).toContain(
      "Rolled back 1 of 3 migrations: 003_create_gadgets failed, 1 not attempted (still applied).",
    );
    expect(flat(result.stderr)).toContain(
      'error: Rollback of 003_create_gadgets failed: table "gadgets_that_do_not_exist" does not exist',
    );
    expect(await states(database.url)).toEqual({
      "001_create_widgets": "applied",
      "002_add_widget_name": "applied",
      "003_create_gadgets": "applied",
      "004_create_sprockets": "rolled_back",
    });
    expect(await tableExists(database.url, "gadgets")).toBe(true);
  });

  it("refuses the whole run when one has no down section, saying so; --mark-only marks them all", async () => {
    const dir = tempDir({
      ...FOUR,
      "003_create_gadgets.sql": migration("create table gadgets (id int primary key);"),
    });
    await direct(dir, "apply");

    const refused = await direct(dir, "rollback", "--to", "001_create_widgets");
    expect(refused.code).toBe(1);
    expect(flat(refused.stderr)).toContain(
      "error: Cannot roll back everything applied after 001_create_widgets: 003_create_gadgets is among them and it has no down section; nothing was rolled back.",
    );
    expect(flat(refused.stderr)).toContain(
      `\`studio-migrate rollback --to 003_create_gadgets --migrations-dir ${dir} --actor tester\``,
    );
    expect(Object.values(await states(database.url))).toEqual([
      "applied",
      "applied",
      "applied",
      "applied",
    ]);
    expect(await tableExists(database.url, "sprockets")).toBe(true);

    const marked = await direct(dir, "rollback", "--to", "001_create_widgets", "--mark-only");
    expect(marked.code).toBe(0);
    expect(marked.stdout.split("\n").filter((line) => /^\s+marked\s/.test(line))).toHaveLength(3);
    expect(flat(marked.stdout)).toContain(
      "Marked 3 migrations as rolled back (everything applied after 001_create_widgets) without running any SQL",
    );
    expect(await states(database.url)).toEqual({
      "001_create_widgets": "applied",
      "002_add_widget_name": "rolled_back",
      "003_create_gadgets": "rolled_back",
      "004_create_sprockets": "rolled_back",
    });
    expect(await tableExists(database.url, "sprockets")).toBe(true);
  });

  it("refuses an unknown or unapplied <name>, and more steps than are applied", async () => {
    const dir = tempDir(FOUR);
    await direct(dir, "apply", "--to", "002_add_widget_name");

    const unknown = await direct(dir, "rollback", "--to", "099_nothing");
    expect(unknown.code).toBe(1);
    expect(flat(unknown.stderr)).toContain('No migration named "099_nothing" exists');
    const pending = await direct(dir, "rollback", "--to", "003_create_gadgets");
    expect(pending.code).toBe(1);
    expect(flat(pending.stderr)).toContain(
      "Cannot roll back to 003_create_gadgets: it is not applied",
    );
    const tooMany = await direct(dir, "rollback", "--steps", "5");
    expect(tooMany.code).toBe(1);
    expect(flat(tooMany.stderr)).toContain("only 2 are applied");
    expect(await states(database.url)).toEqual({
      "001_create_widgets": "applied",
      "002_add_widget_name": "applied",
    });
  });
});

describe("adopt (direct)", () => {
  it("records what dbmate applied as baselines saying so, runs nothing, and reports the rest", async () => {
    const dir = tempDir(FOUR);
    // What dbmate left: its history, and the schema it built.
    await dbmateHistory(["1", "002", "20991231000000"]);
    await query(database.url, "create table widgets (id int primary key, name text)");

    const result = await direct(dir, "adopt", "--from", "dbmate");

    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(flat(result.stdout)).toContain(
      "Read public.schema_migrations (dbmate): 3 versions recorded there.",
    );
    expect(result.stdout).toMatch(/adopted\s+1\s+001_create_widgets/);
    expect(result.stdout).toMatch(/adopted\s+002\s+002_add_widget_name/);
    expect(result.stdout).toMatch(/no local file\s+20991231000000/);
    expect(flat(result.stdout)).toContain("Adopted 2 migrations from dbmate");
    expect(flat(result.stdout)).toContain("1 version has no migration file in");
    expect(await states(database.url)).toEqual({
      "001_create_widgets": "applied",
      "002_add_widget_name": "applied",
    });
    const notes = await query<{ action: string; error_message: string }>(
      database.url,
      "select action, error_message from platform.schema_migration_events order by id",
    );
    expect(notes).toEqual([
      {
        action: "baseline",
        error_message: "adopted from dbmate (public.schema_migrations, version 1)",
      },
      {
        action: "baseline",
        error_message: "adopted from dbmate (public.schema_migrations, version 002)",
      },
    ]);
    // Only what dbmate had not applied runs now.
    const apply = await direct(dir, "apply");
    expect(apply.code).toBe(0);
    expect(apply.stdout.split("\n").filter((line) => /^\s+applied\s/.test(line))).toHaveLength(2);
    expect(await tableExists(database.url, "sprockets")).toBe(true);
  });

  it("reads --table, and fails clearly when the table is not there", async () => {
    const dir = tempDir(FOUR);

    const missing = await direct(dir, "adopt", "--from", "dbmate");
    expect(missing.code).toBe(1);
    expect(flat(missing.stderr)).toContain(
      "error: There is no dbmate table public.schema_migrations in this database.",
    );
    expect(flat(missing.stderr)).toContain("--table");
    const supabase = await direct(dir, "adopt", "--from", "supabase", "--json");
    expect(supabase.code).toBe(1);
    expect(JSON.parse(supabase.stdout)).toMatchObject({
      ok: false,
      command: "adopt",
      error: { code: "FOREIGN_HISTORY_NOT_FOUND" },
    });

    await query(
      database.url,
      "create schema legacy; create table legacy.versions (version text); insert into legacy.versions values ('3')",
    );
    const result = await direct(dir, "adopt", "--from", "dbmate", "--table", "legacy.versions");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/adopted\s+3\s+003_create_gadgets/);
    expect(await states(database.url)).toEqual({ "003_create_gadgets": "applied" });
  });
});

describe("through Studio (--url)", () => {
  let executor: Executor;
  let studio: MigrationsHttpServer;

  async function startStudio(files: Record<string, string>) {
    executor = createPostgresExecutor({ connection: database.url });
    studio = await startMigrationsHttpServer({
      executor,
      source: directorySource(tempDir(files)),
      secret: SECRET,
    });
  }
  afterEach(async () => {
    await studio?.close();
    await executor?.close();
  });

  function viaStudio(...args: string[]) {
    return runCli([...args, "--url", studio.url, "--actor", "deploy-bot"], {
      env: { MIGRATION_SECRET: SECRET },
    });
  }

  it("rollback --steps and --to print a line per migration and change the database", async () => {
    await startStudio(FOUR);
    expect((await viaStudio("apply")).code).toBe(0);

    const steps = await viaStudio("rollback", "--steps", "1");
    expect(steps.code).toBe(0);
    expect(steps.stdout).toMatch(/^ {2}rolled back\s+(<1|\d+) ms {2}004_create_sprockets$/m);

    const to = await viaStudio("rollback", "--to", "001_create_widgets");
    expect(to.code).toBe(0);
    expect(to.stdout.split("\n").filter((line) => /^\s+rolled back\s/.test(line))).toEqual([
      expect.stringMatching(/003_create_gadgets$/),
      expect.stringMatching(/002_add_widget_name$/),
    ]);
    expect(await states(database.url)).toEqual({
      "001_create_widgets": "applied",
      "002_add_widget_name": "rolled_back",
      "003_create_gadgets": "rolled_back",
      "004_create_sprockets": "rolled_back",
    });
    expect((await events(database.url)).filter((e) => e.action === "rollback")).toHaveLength(3);
    expect((await events(database.url)).every((e) => e.actor === "deploy-bot")).toBe(true);
  });

  it("rollback --to reports a failed step with the steps and exit 1", async () => {
    await startStudio({
      ...FOUR,
      "004_create_sprockets.sql": migration(
        "create table sprockets (id int primary key);",
        "drop table nope;",
      ),
    });
    await viaStudio("apply");

    const result = await viaStudio("rollback", "--to", "002_add_widget_name");

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAILED .* 004_create_sprockets/);
    expect(result.stdout).toMatch(/skipped .* 003_create_gadgets/);
    expect(flat(result.stderr)).toContain(
      'error: Rollback of 004_create_sprockets failed: table "nope" does not exist',
    );
    expect(Object.values(await states(database.url))).toEqual([
      "applied",
      "applied",
      "applied",
      "applied",
    ]);
  });

  it("rollback says whether the failed down ran in a transaction, as in direct mode", async () => {
    await startStudio({
      "001_create_widgets.sql": migration(
        "create table widgets (id int primary key);",
        "drop table nope;",
      ),
      "002_create_gizmos.sql":
        "-- migrate:up\ncreate table gizmos (id int);\ncreate table gadgets (id int);\n" +
        "-- migrate:down transaction:false\ndrop table gizmos;\ndrop table nope;\n",
    });
    await viaStudio("apply");

    const outside = await viaStudio("rollback", "002_create_gizmos");
    expect(outside.code).toBe(1);
    expect(outside.stdout).toMatch(/FAILED .* 002_create_gizmos/);
    expect(flat(outside.stderr)).toContain(
      "hint: The down section ran outside a transaction, so the statements before the failing one stay done, and 002_create_gizmos is now failed",
    );
    expect(await tableExists(database.url, "gizmos")).toBe(false);
    expect(await states(database.url)).toMatchObject({ "002_create_gizmos": "failed" });

    await query(database.url, "drop table gadgets");
    await viaStudio("resolve", "002_create_gizmos", "--rolled-back");
    const inside = await viaStudio("rollback", "001_create_widgets", "--json");
    expect(inside.code).toBe(1);
    expect(JSON.parse(inside.stdout).result).toMatchObject({
      status: "failed",
      transactional: true,
      sql: "drop table nope;\n",
    });
    expect(flat(inside.stderr)).toContain(
      "hint: The down section ran in a transaction that was rolled back: 001_create_widgets is still applied.",
    );
    expect(await states(database.url)).toMatchObject({ "001_create_widgets": "applied" });
  });

  it("adopt --from dbmate records Studio-side, as the actor", async () => {
    await startStudio(FOUR);
    await dbmateHistory(["1", "2", "3"]);

    const result = await viaStudio("adopt", "--from", "dbmate");

    expect(result.code).toBe(0);
    expect(flat(result.stdout)).toContain("Adopted 3 migrations from dbmate");
    expect(await states(database.url)).toEqual({
      "001_create_widgets": "applied",
      "002_add_widget_name": "applied",
      "003_create_gadgets": "applied",
    });
    expect((await events(database.url)).map((e) => [e.action, e.actor])).toEqual([
      ["baseline", "deploy-bot"],
      ["baseline", "deploy-bot"],
      ["baseline", "deploy-bot"],
    ]);
    expect(await tableExists(database.url, "widgets")).toBe(false);
  });
});
