import { createTestDatabase, type TestDatabase } from "@studio/test-postgres";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { flat, migration, query, removeTempDirs, runCli, tempDir } from "./testing/cli.ts";

afterAll(() => removeTempDirs());

/** One exact down, two planted mistakes: a column left behind and a default changed. */
const PLANTED = {
  "001_create_accounts.sql": migration(
    "create table accounts (id int primary key, name text not null default 'x');",
    "drop table accounts;",
  ),
  "002_add_account_nickname.sql": migration(
    "alter table accounts add column if not exists nickname text, add constraint accounts_nickname_length check (length(nickname) < 40);",
    "alter table accounts drop constraint accounts_nickname_length;",
  ),
  "003_change_account_name_default.sql": migration(
    "alter table accounts alter column name set default 'unnamed';",
    "alter table accounts alter column name drop default;",
  ),
};

const LEFT_BEHIND =
  "column public.accounts.nickname: left behind by the down section (not there before the up)";

describe("studio-migrate verify", () => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.drop();
    database = undefined;
  });

  it("fails on a planted directory, naming each down that is not an exact inverse and what it left", async () => {
    const dir = tempDir(PLANTED);

    const result = await runCli(["verify", "--migrations-dir", dir]);

    expect(result.code).toBe(1);
    const out = flat(result.stdout);
    expect(out).toContain("on an in-memory PGlite database");
    expect(result.stdout).toMatch(/^MIGRATION\s+RESULT\s+TIME\s+DIFFERENCES$/m);
    expect(result.stdout).toMatch(/^001_create_accounts\s+inverse\s/m);
    expect(result.stdout).toMatch(/^002_add_account_nickname\s+NOT INVERSE\s/m);
    expect(result.stdout).toMatch(/^003_change_account_name_default\s+NOT INVERSE\s/m);
    expect(out).toContain(`- ${LEFT_BEHIND}`);
    expect(out).toContain("- column public.accounts.name: default 'x'::text → none");
    expect(out).toContain("1 inverse, 2 not inverse.");
    expect(flat(result.stderr)).toContain(
      "error: 2 down sections do not restore the schema their up found: 002_add_account_nickname, 003_change_account_name_default.",
    );
  }, 180_000);

  it("passes on the repository's migrations/ on a --scratch-url database, 000 irreversible as a warning", async () => {
    database = await createTestDatabase("verify_cli");

    const result = await runCli(["verify", "--scratch-url", database.url]);

    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /^000_platform_migrations_tracking\s+irreversible\s.*no down section$/m,
    );
    for (const name of [
      "001_create_organizations",
      "002_create_users",
      "003_create_organization_members",
      "004_create_projects",
      "005_create_organization_invitations",
      "006_create_project_api_keys",
      "007_create_audit_logs",
      "008_add_active_org_tracking",
    ]) {
      expect(result.stdout).toMatch(new RegExp(`^${name}\\s+inverse\\s`, "m"));
    }
    expect(flat(result.stdout)).toContain(
      "8 inverse, 1 irreversible (no down section: a warning).",
    );
    // It ran there: the scratch database holds the schema the last up made.
    expect(
      await query(
        database.url,
        "select to_regprocedure('platform.set_active_org(uuid, uuid)') is not null as there",
      ),
    ).toEqual([{ there: true }]);
  }, 180_000);

  it("prints the report as one JSON document with --json", async () => {
    database = await createTestDatabase("verify_cli");
    const dir = tempDir(PLANTED);

    const result = await runCli([
      "verify",
      "--migrations-dir",
      dir,
      "--scratch-url",
      database.url,
      "--json",
    ]);

    expect(result.code).toBe(1);
    const document = JSON.parse(result.stdout);
    expect(document).toMatchObject({
      ok: false,
      command: "verify",
      error: { code: "NOT_INVERSE" },
      result: { ok: false, notVerified: [] },
    });
    expect(
      document.result.results.map((r: { migrationName: string; result: string }) => [
        r.migrationName,
        r.result,
      ]),
    ).toEqual([
      ["001_create_accounts", "inverse"],
      ["002_add_account_nickname", "not_inverse"],
      ["003_change_account_name_default", "not_inverse"],
    ]);
    expect(document.result.results[1].downDifferences).toEqual([
      {
        change: "extra",
        kind: "column",
        identity: "public.accounts.nickname",
        message: LEFT_BEHIND,
      },
    ]);
  }, 180_000);

  it("stops at a failing section, naming the migration, the section and Postgres' message", async () => {
    database = await createTestDatabase("verify_cli");
    const dir = tempDir({
      "001_create_accounts.sql": migration(
        "create table accounts (id int primary key);",
        "drop table accounts;\ndrop table acounts;",
      ),
      "002_create_tokens.sql": migration("create table tokens (id int);", "drop table tokens;"),
    });

    const result = await runCli(["verify", "--migrations-dir", dir, "--scratch-url", database.url]);

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^001_create_accounts\s+FAILED\s.*\sdown failed: /m);
    expect(flat(result.stdout)).toContain(
      "Not verified (they come after the failure): 002_create_tokens.",
    );
    expect(flat(result.stderr)).toContain(
      'error: The down section of 001_create_accounts failed: table "acounts" does not exist',
    );
    expect(result.stderr).toContain("postgres: SQLSTATE 42P01");
  }, 180_000);

  it("refuses a --scratch-url database that holds anything, and leaves it as it was", async () => {
    database = await createTestDatabase("verify_cli");
    await query(database.url, "create table keep_me (id int); insert into keep_me values (1)");
    const dir = tempDir(PLANTED);

    const result = await runCli(["verify", "--migrations-dir", dir, "--scratch-url", database.url]);

    expect(result.code).toBe(1);
    expect(result.stdout).not.toContain("MIGRATION");
    // A password in the URL (an embedded server has one) is shown masked.
    const shown = database.url.replace(/:[^:@/]+@/, ":***@");
    expect(flat(result.stderr)).toContain(
      `error: Refusing to verify on ${shown}: it is not an empty database (it holds table public.keep_me).`,
    );
    expect(await query(database.url, "select count(*)::int as n from keep_me")).toEqual([{ n: 1 }]);
    expect(
      await query(database.url, "select to_regclass('public.accounts') is null as untouched"),
    ).toEqual([{ untouched: true }]);
  });

  it("takes no target: --database-url is a usage error, and DATABASE_URL is never used", async () => {
    const result = await runCli(["verify", "--database-url", "postgres://localhost/platform"]);

    expect(result.code).toBe(2);
    expect(result.stderr).toContain("verify does not take --database-url.");
  });
});
