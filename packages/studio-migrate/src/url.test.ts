import { hostname, userInfo } from "node:os";
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
  trackedRows,
  WIDGETS,
} from "./testing/cli.ts";

const SECRET = "correct-horse-battery-staple";

let database: { url: string; drop(): Promise<void> };
let executor: Executor;
let studio: MigrationsHttpServer;

/** Studio as the CLI sees it: the router at /api/trpc over a real PostgreSQL, on loopback. */
async function startStudio(files: Record<string, string>) {
  executor = createPostgresExecutor({ connection: database.url });
  studio = await startMigrationsHttpServer({
    executor,
    source: directorySource(tempDir(files)),
    secret: SECRET,
  });
}

beforeEach(async () => {
  database = await createTestDatabase("cli_url");
});
afterEach(async () => {
  await studio.close();
  await executor.close();
  await database.drop();
});
afterAll(() => removeTempDirs());

function cli(args: string[], env: Record<string, string> = { MIGRATION_SECRET: SECRET }) {
  // A DATABASE_URL in the environment must not matter: --url wins.
  return runCli([...args, "--url", studio.url], {
    env: { DATABASE_URL: "postgres://nobody@127.0.0.1:1/unused", ...env },
  });
}

describe("through Studio (--url)", () => {
  it("status lists the migrations Studio sees", async () => {
    await startStudio(WIDGETS);

    const result = await cli(["status"]);

    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain(`Target: Studio at ${studio.url}`);
    expect(result.stdout).toMatch(/001_create_widgets\s+pending/);
    expect(result.stdout).toContain("0 applied, 3 pending, no problems.");
  });

  it("apply prints each migration's result and records the actor as applied_by", async () => {
    await startStudio(WIDGETS);

    const result = await cli(["apply", "--actor", "deploy-bot"]);

    expect(result.code).toBe(0);
    expect(result.stdout.match(/^ {2}applied\s+(<1|\d+) ms {2}\d{3}_\w+$/gm)).toHaveLength(3);
    expect(result.stdout).toContain("Applied 3 migrations in");
    expect((await trackedRows(database.url)).map((row) => row.applied_by)).toEqual([
      "deploy-bot",
      "deploy-bot",
      "deploy-bot",
    ]);
    expect(await tableExists(database.url, "gadgets")).toBe(true);
  });

  it("records cli:<user>@<host> as the actor by default", async () => {
    await startStudio(WIDGETS);

    const result = await cli(["apply", "--to", "001_create_widgets"]);

    expect(result.code).toBe(0);
    const [row] = await trackedRows(database.url);
    expect(row?.applied_by).toBe(`cli:${userInfo().username}@${hostname()}`);
    expect((await events(database.url))[0]?.actor).toBe(row?.applied_by);
  });

  it("a failing migration: exit 1, the steps that ran, and Postgres's message on stderr", async () => {
    await startStudio({
      "001_create_widgets.sql": WIDGETS["001_create_widgets.sql"] as string,
      "002_broken.sql": migration("create table half_done (id int);\nselect 1/0;"),
    });

    const result = await cli(["apply"]);

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/applied .* 001_create_widgets/);
    expect(result.stdout).toMatch(/FAILED .* 002_broken/);
    expect(flat(result.stderr)).toContain("error: Migration 002_broken failed: division by zero");
    expect(await states(database.url)).toEqual({
      "001_create_widgets": "applied",
      "002_broken": "failed",
    });
    expect(await tableExists(database.url, "half_done")).toBe(false);
  });

  it("a refusal keeps its code and a hint in CLI terms, pasteable: it carries --url", async () => {
    await startStudio(WIDGETS);

    const result = await cli(["apply", "002_add_widget_name", "--json"]);

    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({
      ok: false,
      error: {
        code: "EARLIER_PENDING",
        migrationName: "002_add_widget_name",
        hint: expect.stringMatching(
          /`studio-migrate apply --to 002_add_widget_name --url http:\/\/127\.0\.0\.1:\d+\/?`/,
        ),
      },
    });
    expect(await trackedRows(database.url)).toEqual([]);
  });

  it("a wrong secret: exit 1, says the secret was refused, never prints it", async () => {
    await startStudio(WIDGETS);

    const result = await cli(["apply"], { MIGRATION_SECRET: "not-the-secret-at-all" });

    expect(result.code).toBe(1);
    expect(flat(result.stderr)).toContain(
      `Studio at ${studio.url} refused the migration secret (401 Unauthorized).`,
    );
    expect(result.stdout + result.stderr).not.toContain("not-the-secret-at-all");
    expect(await trackedRows(database.url)).toEqual([]);
  });

  it("a wrong --secret is not printed either, in --json", async () => {
    await startStudio(WIDGETS);

    const result = await cli(["status", "--json", "--secret", "wrong-flag-secret"], {});

    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({
      ok: false,
      command: "status",
      error: { code: "SECRET_REFUSED" },
    });
    expect(result.stdout + result.stderr).not.toContain("wrong-flag-secret");
    expect(result.stdout + result.stderr).not.toContain(SECRET);
  });

  it("no secret: exit 1 before calling Studio, saying how to give one", async () => {
    await startStudio(WIDGETS);

    const result = await cli(["apply"], {});

    expect(result.code).toBe(1);
    expect(flat(result.stderr)).toContain("No migration secret to send to");
    expect(flat(result.stderr)).toContain("Set MIGRATION_SECRET");
    expect(await tableExists(database.url, "platform.schema_migrations")).toBe(false);
  });

  it("--json prints one document per command, dates as ISO strings", async () => {
    await startStudio(WIDGETS);

    const apply = await cli(["apply", "--json", "--actor", "ci"]);
    expect(apply.code).toBe(0);
    const applied = JSON.parse(apply.stdout);
    expect(applied).toMatchObject({
      ok: true,
      command: "apply",
      target: { mode: "url", url: studio.url, actor: "ci" },
    });
    expect(applied.result.results).toHaveLength(3);
    expect(apply.stdout).not.toContain(SECRET);

    const status = await cli(["status", "--json"]);
    const report = JSON.parse(status.stdout);
    expect(report.result.applied).toHaveLength(3);
    expect(report.result.applied[0].appliedAt).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);
    expect(report.result.applied[0].appliedBy).toBe("ci");
  });

  it("rollback, baseline, resolve and history work through Studio too", async () => {
    await startStudio(WIDGETS);

    // 001 was applied by hand before the database was tracked.
    await query(database.url, "create table widgets (id int primary key)");
    expect((await cli(["baseline", "--to", "001_create_widgets"])).code).toBe(0);
    expect((await cli(["apply"])).code).toBe(0);
    const rollback = await cli(["rollback", "003_create_gadgets"]);
    expect(rollback.code).toBe(0);
    expect(rollback.stdout).toContain("Rolled back 003_create_gadgets");
    expect(await tableExists(database.url, "gadgets")).toBe(false);

    const resolve = await cli(["resolve", "003_create_gadgets", "--applied"]);
    expect(resolve.code).toBe(0);
    expect(resolve.stdout).toContain("rolled_back → applied");

    const history = await cli(["history", "--limit", "1"]);
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(/003_create_gadgets\s+resolve --applied\s+succeeded/);
    expect(history.stdout).toMatch(/Next cursor: \d+/);
  });

  it("Studio unreachable: exit 1 with the reason", async () => {
    await startStudio(WIDGETS);
    const url = studio.url;
    await studio.close();

    const result = await runCli(["status", "--url", url], { env: { MIGRATION_SECRET: SECRET } });

    expect(result.code).toBe(1);
    expect(flat(result.stderr)).toContain(`Cannot reach Studio at ${url}: connect ECONNREFUSED`);
    studio = { url, close: async () => {} };
  });

  it("--url with --database-url is a usage error", async () => {
    await startStudio(WIDGETS);

    const result = await cli(["status", "--database-url", database.url]);

    expect(result.code).toBe(2);
    expect(flat(result.stderr)).toContain("Give --url (a Studio) or --database-url");
  });
});
