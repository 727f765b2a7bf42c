import { afterEach, describe, expect, it } from "vitest";
import { verifyMigrations } from "./index.ts";
import {
  migration,
  migrationsOf,
  openTestScratch,
  SCRATCH_KINDS,
  type TestScratch,
} from "./testing/scratches.ts";

describe.each(SCRATCH_KINDS)("a section that fails, on %s", (kind) => {
  let scratch: TestScratch | undefined;
  afterEach(async () => {
    await scratch?.dispose();
    scratch = undefined;
  });

  it("stops verify at a failing down, naming the migration, the section, the line and Postgres' message", async () => {
    scratch = await openTestScratch(kind);
    const migrations = await migrationsOf({
      "001_create_accounts": migration(
        "create table accounts (id int primary key);",
        "drop table accounts;",
      ),
      "002_create_sessions": migration(
        "create table sessions (id int primary key);",
        "drop table sessions;\nselect count(*) from sesions;",
      ),
      "003_create_tokens": migration("create table tokens (id int);", "drop table tokens;"),
    });

    const report = await verifyMigrations({ migrations, scratch: scratch.options });

    expect(report.ok).toBe(false);
    expect(report.results.map((r) => [r.migrationName, r.result])).toEqual([
      ["001_create_accounts", "inverse"],
      ["002_create_sessions", "failed"],
    ]);
    expect(report.results[1]?.failure).toEqual({
      section: "down",
      line: 2,
      message: 'relation "sesions" does not exist',
      code: "42P01",
      detail: null,
      hint: null,
      position: 43,
    });
    expect(report.notVerified).toEqual(["003_create_tokens"]);
    // The down ran in one transaction, rolled back whole: its first statement did not stay.
    expect(
      await scratch.query(
        "select to_regclass('public.sessions') is not null as sessions, to_regclass('public.tokens') is not null as tokens",
      ),
    ).toEqual([{ sessions: true, tokens: false }]);
  });

  it("runs a transaction:false up statement by statement, keeping what ran before the failing one", async () => {
    scratch = await openTestScratch(kind);
    const migrations = await migrationsOf({
      "001_index_things": migration(
        "create table things (id int);\ncreate index concurrently things_id_idx on things (id);\n\nselect * from nothing_here;",
        "drop table things;",
        { transactional: false },
      ),
    });

    const report = await verifyMigrations({ migrations, scratch: scratch.options });

    expect(report.results[0]).toMatchObject({
      migrationName: "001_index_things",
      result: "failed",
      failure: { section: "up", line: 4, code: "42P01" },
    });
    expect(
      await scratch.query("select to_regclass('public.things_id_idx') is not null as built"),
    ).toEqual([{ built: true }]);
  });

  it("fails a transaction:false section that leaves a transaction open, rolling it back", async () => {
    scratch = await openTestScratch(kind);
    const migrations = await migrationsOf({
      "001_half_done": migration("begin;\ncreate table half (id int);", "drop table half;", {
        transactional: false,
      }),
    });

    const report = await verifyMigrations({ migrations, scratch: scratch.options });

    expect(report.results[0]?.failure).toMatchObject({
      section: "up",
      message: expect.stringContaining("opened a transaction (BEGIN) and did not end it"),
    });
    expect(await scratch.query("select to_regclass('public.half') is not null as there")).toEqual([
      { there: false },
    ]);
  });
});
