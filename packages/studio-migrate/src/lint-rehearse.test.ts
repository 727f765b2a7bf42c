import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { directorySource, type Executor } from "@studio/migrations-core";
import { loadLinter } from "@studio/migrations-lint";
import { createPostgresExecutor } from "@studio/migrations-postgres";
import {
  type MigrationsHttpServer,
  startMigrationsHttpServer,
} from "@studio/migrations-trpc/testing";
import { createTestDatabase } from "@studio/test-postgres";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { flat, migration, query, removeTempDirs, runCli, states, tempDir } from "./testing/cli.ts";

const ROWS = 5_000;

/** A populated table, then an unsafe index on it and a safe column. */
const FILES: Record<string, string> = {
  "001_users.sql": migration(
    `create schema if not exists platform;\ncreate table platform.users (id int primary key, email text not null);\ninsert into platform.users select g, 'user' || g || '@example.com' from generate_series(1, ${ROWS}) g;`,
    "drop table platform.users;",
  ),
  "002_index_users.sql": migration(
    "-- looked up at sign-in\ncreate index users_email on platform.users (email);",
    "drop index platform.users_email;",
  ),
  "003_nickname.sql": migration(
    "alter table platform.users add column nickname text;",
    "alter table platform.users drop column nickname;",
  ),
};

let database: { url: string; drop(): Promise<void> };
let dir: string;

beforeEach(async () => {
  database = await createTestDatabase("cli_lint");
  dir = tempDir(FILES);
  const applied = await direct("apply", "--to", "001_users");
  expect(applied.code, applied.stderr).toBe(0);
  await query(database.url, "analyze platform.users");
});
afterEach(async () => {
  await database.drop();
});
afterAll(() => removeTempDirs());

function direct(...args: string[]) {
  return runCli([...args, "--migrations-dir", dir, "--actor", "tester"], {
    env: { DATABASE_URL: database.url },
  });
}

const schema = () =>
  query(
    database.url,
    "select table_name, column_name from information_schema.columns where table_schema = 'platform' and table_name = 'users' order by 2",
  );

describe("lint (direct)", () => {
  it("lists the unsafe index with its lock, and exits 1 for the error", async () => {
    const result = await direct("lint");

    expect(result.code).toBe(1);
    expect(flat(result.stdout)).toContain(
      "Linted 2 pending migrations: 002_index_users, 003_nickname",
    );
    // 80 columns (not a terminal): with a size, the relation, the size and the message go to a
    // second line; without one, a row fits on one.
    expect(result.stdout).toMatch(
      /RULE\s+LEVEL\s+MIGRATION:LINE\s+LOCK\n\s+RELATION\s+SIZE\s+MESSAGE/,
    );
    expect(flat(result.stdout)).toContain("CREATE INDEX without CONCURRENTLY locks platform.users");
    expect(result.stdout).toMatch(
      /index-not-concurrent\s+error\s+002_index_users:3\s+SHARE\n\s+platform\.users\s+/,
    );
    expect(flat(result.stdout)).toContain("fix: ");
    expect(flat(result.stdout)).toContain("1 error, 0 warnings.");
    expect(flat(result.stderr)).toContain(
      "error: The lint found 1 error: index-not-concurrent at 002_index_users:3.",
    );
    expect(flat(result.stdout)).toContain("(sizes and lock holders from the target)");
    expect(result.stdout).toMatch(/platform\.users\s+≈5 k rows, \d+ kB\s+CREATE INDEX without/);
  });

  it("answers one JSON document, with each finding's size", async () => {
    const result = await direct("lint", "--json");

    expect(result.code).toBe(1);
    const document = JSON.parse(result.stdout);
    expect(document).toMatchObject({
      ok: false,
      command: "lint",
      result: { errors: 1, migrations: ["002_index_users", "003_nickname"] },
      error: { code: "LINT_ERRORS" },
    });
    const [finding] = document.result.findings;
    expect(finding).toMatchObject({ rule: "index-not-concurrent", line: 3, lock: "SHARE" });
    expect(finding.size).toMatchObject({ estimatedRows: ROWS, kind: "table" });
    const [catalog] = await query<{ bytes: string }>(
      database.url,
      "select pg_total_relation_size('platform.users')::text as bytes",
    );
    expect(finding.size.totalBytes).toBe(Number(catalog?.bytes));
  });

  it("exits 0 for migrations without an error, and lints the ones named", async () => {
    const result = await direct("lint", "003_nickname");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain("Linted 003_nickname");
    expect(result.stdout).toContain("0 errors, 0 warnings.");
  });

  it("counts a finding accepted with -- lint:ignore as accepted, not as an error", async () => {
    writeFileSync(
      join(dir, "002_index_users.sql"),
      migration(
        "-- lint:ignore index-not-concurrent a maintenance window is booked\ncreate index users_email on platform.users (email);",
      ),
    );
    const result = await direct("lint");
    expect(result.code, result.stderr).toBe(0);
    expect(flat(result.stdout)).toContain(
      "- 002_index_users:3 index-not-concurrent (line 2: a maintenance window is booked)",
    );
    expect(result.stdout).toContain("0 errors, 0 warnings, 1 accepted.");
  });

  it("refuses a usage error with 2", async () => {
    const result = await direct("lint", "not a name");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('"not a name" is not a migration name');
  });
});

describe("apply --strict (direct)", () => {
  it("refuses before anything runs, listing the error, and a plain apply runs", async () => {
    const before = await schema();

    const refused = await direct("apply", "--strict");

    expect(refused.code).toBe(1);
    expect(flat(refused.stderr)).toMatch(
      /error: Strict apply refused: the lint found 1 error-level finding in what would run \(first: index-not-concurrent in 002_index_users:3\); nothing was applied\./,
    );
    expect(flat(refused.stderr)).toMatch(
      /002_index_users:3 error index-not-concurrent on platform\.users.* \[SHARE\]:/,
    );
    expect(flat(refused.stderr)).toContain("hint: ");
    expect(await states(database.url)).toEqual({ "001_users": "applied" });
    expect(await schema()).toEqual(before);

    const json = await direct("apply", "--strict", "--json");
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      error: { code: "LINT_REFUSED" },
    });

    const applied = await direct("apply");
    expect(applied.code, applied.stderr).toBe(0);
    expect(await states(database.url)).toEqual({
      "001_users": "applied",
      "002_index_users": "applied",
      "003_nickname": "applied",
    });
  });
});

describe("rehearse (direct)", () => {
  it("times each statement, shows its locks, and leaves the database as it was", async () => {
    const before = await schema();

    const result = await direct("rehearse");

    expect(result.code, result.stderr).toBe(0);
    // 80 columns (not a terminal): each statement on a line of its own, under its time.
    expect(result.stdout).toMatch(/MIGRATION\s+LINE\s+TIME\s+LOCKS TAKEN\n\s+STATEMENT/);
    expect(result.stdout).toMatch(
      /002_index_users\s+3\s+[\d.]+ ms\s+(SHARE on platform\.users|ACCESS EXCLUSIVE on platform\.users_email \(index\))\n\s+create index users_email on platform\.users \(email\)\n/,
    );
    expect(result.stdout).toMatch(
      /003_nickname\s+2\s+[\d.]+ ms\s+ACCESS EXCLUSIVE on platform\.users\n\s+alter table platform\.users add column nickname text\n/,
    );
    expect(flat(result.stdout)).toContain(
      "Rehearsed 2 of 2 pending migrations in one transaction, then rolled it back: nothing was applied or recorded.",
    );
    expect(await states(database.url)).toEqual({ "001_users": "applied" });
    expect(await schema()).toEqual(before);

    const json = JSON.parse((await direct("rehearse", "--to", "002_index_users", "--json")).stdout);
    expect(json).toMatchObject({ ok: true, command: "rehearse" });
    expect(json.result.results.map((r: { migrationName: string }) => r.migrationName)).toEqual([
      "002_index_users",
    ]);
  });

  it("exits 1 with Postgres' message when a statement fails, after what ran before it", async () => {
    writeFileSync(
      join(dir, "003_nickname.sql"),
      migration(
        "alter table platform.users add column nickname text;\nalter table platform.users add column email text;",
      ),
    );
    const result = await direct("rehearse");

    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAILED: alter table platform\.users add column email text/);
    expect(flat(result.stderr)).toContain(
      'error: 003_nickname failed in the rehearsal at line 3 (alter table platform.users add column email text): column "email" of relation "users" already exists',
    );
    expect(await states(database.url)).toEqual({ "001_users": "applied" });
  });
});

describe("through Studio (--url)", () => {
  const SECRET = "correct-horse-battery-staple";
  let executor: Executor;
  let studio: MigrationsHttpServer;

  beforeEach(async () => {
    executor = createPostgresExecutor({ connection: database.url });
    studio = await startMigrationsHttpServer({
      executor,
      source: directorySource(dir),
      linter: loadLinter,
      secret: SECRET,
    });
  });
  afterEach(async () => {
    await studio.close();
    await executor.close();
  });

  function url(...args: string[]) {
    return runCli([...args, "--url", studio.url], { env: { MIGRATION_SECRET: SECRET } });
  }

  it("lint shows the table's live size and exits 1", async () => {
    const result = await url("lint");
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`Target: Studio at ${studio.url}`);
    expect(result.stdout).toMatch(
      /index-not-concurrent\s+error\s+002_index_users:3\s+SHARE\n\s+platform\.users\s+≈5 k rows, \d+ kB\s+CREATE INDEX/,
    );
  });

  it("apply --strict is refused with the findings, and nothing is applied", async () => {
    const result = await url("apply", "--strict");
    expect(result.code).toBe(1);
    expect(flat(result.stderr)).toMatch(
      /002_index_users:3 error index-not-concurrent on platform\.users \(≈5 k rows, \d+ kB\) \[SHARE\]:/,
    );
    expect(await states(database.url)).toEqual({ "001_users": "applied" });
  });

  it("rehearse prints each statement's time and locks, and changes nothing", async () => {
    const result = await url("rehearse", "--lock-timeout", "2000");
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /003_nickname\s+2\s+[\d.]+ ms\s+ACCESS EXCLUSIVE on platform\.users\n\s+alter table platform\.users add column nickname text\n/,
    );
    expect(await states(database.url)).toEqual({ "001_users": "applied" });
  });
});
