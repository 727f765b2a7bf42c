/**
 * Session state (SPEC §4 *Isolated*): a migration that changes its session (search_path, a role,
 * session_replication_role, a temp table, standard_conforming_strings, client_encoding, RESET ALL,
 * a prepared statement, an advisory lock) followed by migrations written for a fresh session.
 *
 * For each directory: the engine must give exactly the same database applying it in one run as
 * applying one migration per run. dbmate runs every migration of a run on one connection, so the
 * state carries over: where that changes the outcome, the test asserts what dbmate does and prints
 * the difference; where it does not, dbmate and the engine must be equal.
 */
import { readdirSync } from "node:fs";
import { getTestServer, query } from "@studio/test-postgres";
import { afterAll, describe, expect, it } from "vitest";
import { chooseComparison, expectSame, snapshot } from "./support/compare.ts";
import { type Database, dropDatabases, freshDatabase, value } from "./support/database.ts";
import { dbmate, dbmateMigrate, dbmateVersions } from "./support/dbmate.ts";
import {
  engineApplied,
  engineApplyAll,
  engineApplyOnePerRun,
  requireAllApplied,
} from "./support/engine.ts";
import { CORPUS, corpusDir } from "./support/paths.ts";
import { sqlFiles } from "./support/stages.ts";

const comparison = await chooseComparison();
console.log(`[differential] session state: comparing with ${comparison.label}`);

afterAll(dropDatabases);

/** Prints a difference between the tools for the test output, one line per fact. */
function report(dir: string, lines: string[]): void {
  console.log(
    `[differential] ${dir}: dbmate differs from the engine, as expected:\n  ${lines.join("\n  ")}`,
  );
}

/**
 * The shared part of each directory's tests: the engine in one run and one migration per run, on
 * databases of their own; each is started once, by whichever test needs it first.
 */
function sessionCase(dir: string) {
  const path = corpusDir(dir);
  const files = sqlFiles(path);
  let oneRun: Promise<Database> | undefined;
  let perRun: Promise<Database> | undefined;
  return {
    path,
    files,
    /** A database the engine migrated in one run (all applied, or the test fails). */
    engineOneRun() {
      oneRun ??= (async () => {
        const db = await freshDatabase("engine_one");
        requireAllApplied(await engineApplyAll(db.url, path), files.length);
        return db;
      })();
      return oneRun;
    },
    /** A database the engine migrated one migration per run. */
    enginePerRun() {
      perRun ??= (async () => {
        const db = await freshDatabase("engine_each");
        expect(await engineApplyOnePerRun(db.url, path)).toHaveLength(files.length);
        return db;
      })();
      return perRun;
    },
    /** The engine's two runs give one result. */
    async expectOneRunEqualsPerRun() {
      const [a, b] = await Promise.all([this.engineOneRun(), this.enginePerRun()]);
      const [sa, sb] = await Promise.all([snapshot(a.url, "engine"), snapshot(b.url, "engine")]);
      expectSame(sa, sb, `${dir}: one run, then one migration per run`);
      expect(await engineApplied(b.url, path)).toEqual(await engineApplied(a.url, path));
    },
  };
}

function oneRunTest(c: ReturnType<typeof sessionCase>) {
  it(`the engine: applying all ${c.files.length} in one run gives what one migration per run gives`, async () => {
    await c.expectOneRunEqualsPerRun();
  });
}

/** The user the tools connect as (the test server's admin user), who owns what they create. */
const ME = await value<string>((await getTestServer()).adminUrl, "select current_user");

describe.concurrent("SET search_path (and timezone) without LOCAL", () => {
  const c = sessionCase("session-search-path");
  oneRunTest(c);

  it("dbmate: its own bookkeeping follows the migration's search_path and fails; with a qualified table, later tables land in the wrong schema", async () => {
    const [engine, plain, qualified] = await Promise.all([
      c.engineOneRun(),
      freshDatabase("dbmate"),
      freshDatabase("dbmate_q"),
    ]);
    // dbmate's default table is schema_migrations in current_schema(), read again after each
    // migration: after 002 that is billing, where it has no table.
    const failed = await dbmate("migrate", c.path, plain.url);
    expect(failed.code).not.toBe(0);
    expect(failed.output).toContain('relation "billing.schema_migrations" does not exist');
    expect(await dbmateVersions(plain.url)).toEqual(["001"]);

    await dbmateMigrate(c.path, qualified.url, { migrationsTable: "public.schema_migrations" });
    const where = (url: string) =>
      value<string>(
        url,
        "select relnamespace::regnamespace::text from pg_class where relname = 'invoice_lines'",
      );
    const issued = (url: string) =>
      value<string>(url, "select issued_at_text from public.invoices where id = 1");
    const expectedIssued = await value<string>(
      engine.url,
      "select (timestamptz '2024-03-01 00:00:00+00')::text",
    );
    expect(await where(engine.url)).toBe("public");
    expect(await where(qualified.url)).toBe("billing");
    expect(await issued(engine.url)).toBe(expectedIssued);
    expect(await issued(qualified.url)).toBe("2024-03-01 09:00:00+09");
    // The migration that set them sees its own settings, with both tools.
    for (const url of [engine.url, qualified.url]) {
      expect(await value<boolean>(url, "select to_regclass('billing.ledger') is not null")).toBe(
        true,
      );
    }
    report("session-search-path", [
      `dbmate (default table): ${failed.output.trim().split("\n").at(-1)}`,
      "dbmate (--migrations-table public.schema_migrations): invoice_lines in billing, issued_at_text '2024-03-01 09:00:00+09'",
      `engine: invoice_lines in public, issued_at_text '${expectedIssued}'`,
    ]);
  });
});

describe.concurrent("SET ROLE without LOCAL", () => {
  const c = sessionCase("session-role");
  oneRunTest(c);

  it("dbmate: later tables are owned by the role, and a read-only role breaks its bookkeeping", async () => {
    const [engine, db] = await Promise.all([c.engineOneRun(), freshDatabase("dbmate")]);
    const run = await dbmate("migrate", c.path, db.url);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("permission denied for table schema_migrations");
    expect(await dbmateVersions(db.url)).toEqual(["001", "002", "003"]);
    const owners = (url: string) =>
      query<{ relname: string; owner: string }>(
        url,
        `select relname, relowner::regrole::text as owner from pg_class
          where relnamespace = 'app'::regnamespace and relkind = 'r' order by relname`,
      );
    expect(await owners(db.url)).toEqual([
      { relname: "imports", owner: "pg_write_all_data" },
      { relname: "settings", owner: "pg_write_all_data" },
    ]);
    expect(await owners(engine.url)).toEqual([
      { relname: "imports", owner: "pg_write_all_data" },
      { relname: "reports", owner: ME },
      { relname: "settings", owner: ME },
    ]);
    report("session-role", [
      `dbmate: app.settings owned by pg_write_all_data; stops at 004: ${run.output.trim().split("\n").at(-1)}`,
      `engine: app.settings and app.reports owned by ${ME}; all 5 applied and recorded`,
    ]);
  });
});

describe.concurrent("SET session_replication_role = replica without LOCAL", () => {
  const c = sessionCase("session-replication-role");
  oneRunTest(c);

  it("dbmate: triggers stay off for the later migrations", async () => {
    const [engine, db] = await Promise.all([c.engineOneRun(), freshDatabase("dbmate")]);
    await dbmateMigrate(c.path, db.url);
    const audit = (url: string) =>
      query<{ order_id: number; note: string }>(url, "select * from order_audit order by order_id");
    expect(await audit(engine.url)).toEqual([{ order_id: 3, note: "created; total 4200" }]);
    expect(await audit(db.url)).toEqual([]);
    report("session-replication-role", [
      "dbmate: order 3 inserted with triggers off, no audit row",
      "engine: order 3 audited by its trigger",
    ]);
  });
});

describe.concurrent("a temporary table shadowing a later real table", () => {
  const c = sessionCase("session-temp-shadow");
  oneRunTest(c);

  it("dbmate: the later insert goes into the temporary table and is lost", async () => {
    const [engine, db] = await Promise.all([c.engineOneRun(), freshDatabase("dbmate")]);
    await dbmateMigrate(c.path, db.url);
    const settings = (url: string) => query(url, "select * from public.settings order by key");
    expect(await settings(engine.url)).toEqual([{ key: "theme", value: "dark" }]);
    expect(await settings(db.url)).toEqual([]);
    for (const url of [engine.url, db.url]) {
      expect(await query(url, "select * from legacy_locale")).toEqual([{ locale: "en-GB" }]);
    }
    report("session-temp-shadow", [
      "dbmate: public.settings empty (the row went into the temporary table of 001)",
      "engine: public.settings has theme = dark",
    ]);
  });
});

describe.concurrent("SET standard_conforming_strings = off without LOCAL", () => {
  const c = sessionCase("session-standard-conforming-strings");
  oneRunTest(c);

  it("dbmate: backslashes of a later migration become escapes; within the migration both tools agree", async () => {
    const [engine, db] = await Promise.all([c.engineOneRun(), freshDatabase("dbmate")]);
    await dbmateMigrate(c.path, db.url);
    const path = (url: string, id: number) =>
      value<string>(url, "select path from file_paths where id = $1", [id]);
    // 002's literal is parsed with the SET that precedes it in the same query string: both tools
    // send a transactional section as one query, so the setting is not yet in force for it.
    expect(await path(engine.url, 1)).toBe(await path(db.url, 1));
    expect(await path(engine.url, 1)).toBe("C:\\\\legacy\\\\export");
    expect(await path(engine.url, 2)).toBe("D:\\new\\table");
    expect(await path(db.url, 2)).toBe("D:\new\table");
    report("session-standard-conforming-strings", [
      `dbmate: file_paths 2 = ${JSON.stringify(await path(db.url, 2))}`,
      `engine: file_paths 2 = ${JSON.stringify(await path(engine.url, 2))}`,
    ]);
  });
});

describe.concurrent("SET client_encoding without LOCAL", () => {
  const c = sessionCase("session-client-encoding");
  oneRunTest(c);

  it("dbmate: a later UTF-8 file is read as LATIN1", async () => {
    const [engine, db] = await Promise.all([c.engineOneRun(), freshDatabase("dbmate")]);
    await dbmateMigrate(c.path, db.url);
    const label = (url: string, id: number) =>
      value<string>(url, "select label from labels where id = $1", [id]);
    const written = "café ☕ naïve";
    expect(await label(engine.url, 2)).toBe(written);
    expect(await label(db.url, 2)).toBe(Buffer.from(written, "utf8").toString("latin1"));
    expect(await label(engine.url, 1)).toBe(await label(db.url, 1));
    report("session-client-encoding", [
      `dbmate: labels 2 = ${JSON.stringify(await label(db.url, 2))}`,
      `engine: labels 2 = ${JSON.stringify(written)}`,
    ]);
  });
});

describe.concurrent("RESET ALL", () => {
  const c = sessionCase("session-reset-all");
  oneRunTest(c);

  it("dbmate and the engine give the same database", async () => {
    const [engine, db] = await Promise.all([c.engineOneRun(), freshDatabase("dbmate")]);
    await dbmateMigrate(c.path, db.url);
    expect(await dbmateVersions(db.url)).toEqual(["001", "002", "003"]);
    const [a, b] = await Promise.all([snapshot(db.url, "dbmate"), snapshot(engine.url, "engine")]);
    expectSame(a, b, "session-reset-all (dbmate, then engine)");
    expect(await query(engine.url, "select * from public.import_errors")).toEqual([
      { batch_id: 1, message: "none; all rows loaded" },
    ]);
  });
});

describe.concurrent("a prepared statement and a session advisory lock left behind", () => {
  const c = sessionCase("session-prepared-advisory");
  oneRunTest(c);

  it("dbmate: the next PREPARE of the name fails; the engine's next migrations start clean", async () => {
    const [engine, db] = await Promise.all([c.engineOneRun(), freshDatabase("dbmate")]);
    const run = await dbmate("migrate", c.path, db.url);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain('prepared statement "probe_count" already exists');
    expect(await dbmateVersions(db.url)).toEqual(["001"]);
    expect(await query(engine.url, "select name, ok from probes order by name")).toEqual([
      { name: "advisory lock 4242 free", ok: true },
      { name: "prepared name free", ok: true },
    ]);
    report("session-prepared-advisory", [
      `dbmate: stops at 002: ${run.output.trim().split("\n").at(-1)}`,
      "engine: 002 prepares the name afresh; 003 finds lock 4242 free",
    ]);
  });
});

// Every session directory has its describe block above.
it("covers every session-* directory of the corpus", () => {
  expect(
    readdirSync(CORPUS)
      .filter((d) => d.startsWith("session-"))
      .sort(),
  ).toEqual([
    "session-client-encoding",
    "session-prepared-advisory",
    "session-replication-role",
    "session-reset-all",
    "session-role",
    "session-search-path",
    "session-standard-conforming-strings",
    "session-temp-shadow",
  ]);
});
