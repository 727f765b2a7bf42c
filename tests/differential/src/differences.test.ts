/**
 * Where the engine deliberately differs from dbmate (SPEC §2, §4; README.md's table says why): one
 * test per difference, asserting what each tool does with the same directory. The fresh session
 * per migration is shown directory by directory in session.test.ts.
 */
import { join } from "node:path";
import { directorySource } from "@studio/migrations-core";
import { query } from "@studio/test-postgres";
import { afterAll, describe, expect, it } from "vitest";
import { expectSame, snapshot } from "./support/compare.ts";
import { dropDatabases, freshDatabase, relationExists, value } from "./support/database.ts";
import { dbmate, dbmateMigrate, dbmateRollback, dbmateVersions } from "./support/dbmate.ts";
import {
  ACTOR,
  engineApplied,
  engineApplyAll,
  engineRollback,
  requireAllApplied,
  withEngine,
} from "./support/engine.ts";
import { corpusDir } from "./support/paths.ts";

afterAll(dropDatabases);

function lastLine(text: string): string {
  return text.trim().split("\n").at(-1) ?? "";
}

describe.concurrent("differences from dbmate, each shown with both tools", () => {
  it("transaction:false runs statement by statement: two CREATE INDEX CONCURRENTLY in one section work with the engine, fail with dbmate", async () => {
    const dir = corpusDir("diff-concurrently-section");
    const [mine, theirs] = await Promise.all([freshDatabase("engine"), freshDatabase("dbmate")]);
    const [report, run] = await Promise.all([
      engineApplyAll(mine.url, dir),
      dbmate("migrate", dir, theirs.url),
    ]);
    requireAllApplied(report, 2);
    const indexes = (url: string) =>
      query<{ name: string; valid: boolean }>(
        url,
        `select c.relname as name, i.indisvalid as valid from pg_index i
           join pg_class c on c.oid = i.indexrelid
          where i.indrelid = 'articles'::regclass and not i.indisprimary order by 1`,
      );
    expect(await indexes(mine.url)).toEqual([
      { name: "articles_author_idx", valid: true },
      { name: "articles_published_idx", valid: true },
    ]);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("CREATE INDEX CONCURRENTLY cannot run inside a transaction block");
    expect(await dbmateVersions(theirs.url)).toEqual(["001"]);
    expect(await indexes(theirs.url)).toEqual([]);
    // The down section, two DROP INDEX CONCURRENTLY, runs too.
    await engineRollback(mine.url, dir, 1);
    expect(await indexes(mine.url)).toEqual([]);
    console.log(
      `[differential] diff-concurrently-section: engine applied both indexes; dbmate: ${lastLine(run.output)}`,
    );
  });

  it("transaction:false runs statement by statement: a SET there applies to the section's next statements (dbmate parses the section as one query first)", async () => {
    const dir = corpusDir("diff-split-session-setting");
    const [mine, theirs] = await Promise.all([freshDatabase("engine"), freshDatabase("dbmate")]);
    const [report] = await Promise.all([
      engineApplyAll(mine.url, dir),
      dbmateMigrate(dir, theirs.url),
    ]);
    requireAllApplied(report, 2);
    const path = (url: string) => value<string>(url, "select path from paths where id = 1");
    expect(await path(mine.url)).toBe("C:\\temp");
    expect(await path(theirs.url)).toBe("C:\\\\temp");
    console.log(
      `[differential] diff-split-session-setting: engine stored ${JSON.stringify(await path(mine.url))}; dbmate ${JSON.stringify(await path(theirs.url))}`,
    );
  });

  it("files are ordered by version number: 9_ before 10_ with the engine; dbmate sorts by name, runs 10_ first and fails", async () => {
    const dir = corpusDir("diff-numeric-order");
    const [mine, theirs] = await Promise.all([freshDatabase("engine"), freshDatabase("dbmate")]);
    const [report, run] = await Promise.all([
      engineApplyAll(mine.url, dir),
      dbmate("migrate", dir, theirs.url),
    ]);
    requireAllApplied(report, 2);
    expect(report.results.map((r) => r.migrationName)).toEqual([
      "9_create_widgets",
      "10_add_widget_colour",
    ]);
    expect(
      await value<string>(
        mine.url,
        "select column_default from information_schema.columns where table_name = 'widgets' and column_name = 'colour'",
      ),
    ).toBe("'blue'::text");
    expect(run.code).not.toBe(0);
    expect(run.output.indexOf("Applying: 10_add_widget_colour.sql")).toBeGreaterThanOrEqual(0);
    expect(run.output).not.toContain("Applying: 9_create_widgets.sql");
    expect(run.output).toContain('relation "widgets" does not exist');
    expect(await dbmateVersions(theirs.url)).toEqual([]);
    console.log(
      `[differential] diff-numeric-order: engine applied 9 then 10; dbmate tried 10 first: ${lastLine(run.output)}`,
    );
  });

  it("BEGIN/COMMIT in a transactional section: refused by the engine at load, naming the line; dbmate commits midway, then errors with the migration half-recorded", async () => {
    const dir = corpusDir("diff-transaction-control");
    const file = join(dir, "001_create_ledger.sql");
    const [mine, theirs] = await Promise.all([freshDatabase("engine"), freshDatabase("dbmate")]);
    const loaded = await directorySource(dir).load();
    expect(loaded.problems).toContainEqual(expect.objectContaining({ file, line: 3 }));
    const error = await withEngine(mine.url, dir, (engine) => engine.apply({ actor: ACTOR })).then(
      () => null,
      (e: unknown) => e as Error & { code?: string },
    );
    expect(error?.code, error?.message).toBe("INVALID_MIGRATION_FILE");
    expect(error?.message).toContain(`${file}:3`);
    expect(error?.message).toContain("BEGIN");
    expect(await relationExists(mine.url, "public.ledger_entries")).toBe(false);

    const run = await dbmate("migrate", dir, theirs.url);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("unexpected transaction status idle");
    // What it leaves: the table, and the version recorded, though the run failed.
    expect(await relationExists(theirs.url, "public.ledger_entries")).toBe(true);
    expect(await dbmateVersions(theirs.url)).toEqual(["001"]);
    console.log(
      `[differential] diff-transaction-control: engine refuses (${error?.message}); dbmate: ${lastLine(run.output)}, yet 001 is recorded and its table exists`,
    );
  });

  it("an empty down section: the engine rolls back only when told to mark it (markOnly); dbmate runs the empty section", async () => {
    const dir = corpusDir("diff-empty-down");
    const [mine, theirs] = await Promise.all([freshDatabase("engine"), freshDatabase("dbmate")]);
    const [report] = await Promise.all([
      engineApplyAll(mine.url, dir),
      dbmateMigrate(dir, theirs.url),
    ]);
    requireAllApplied(report, 2);

    const refused = await withEngine(mine.url, dir, (engine) =>
      engine.rollback({ migrationName: "002_seed_countries", actor: ACTOR }),
    ).then(
      (r): Error & { code?: string } => new Error(`rolled back instead of refusing: ${r.status}`),
      (e: unknown) => e as Error & { code?: string },
    );
    expect(refused.code, refused.message).toBe("NO_DOWN_MIGRATION");
    expect(await engineApplied(mine.url, dir)).toEqual([
      "001_create_countries",
      "002_seed_countries",
    ]);

    const marked = await withEngine(mine.url, dir, (engine) =>
      engine.rollback({ migrationName: "002_seed_countries", markOnly: true, actor: ACTOR }),
    );
    expect(marked.status).toBe("marked_rolled_back");
    await dbmateRollback(dir, theirs.url, 1);
    expect(await dbmateVersions(theirs.url)).toEqual(["001"]);
    expect(await engineApplied(mine.url, dir)).toEqual(["001_create_countries"]);
    // Neither ran anything: the seed rows stay on both sides.
    const [a, b] = await Promise.all([
      snapshot(theirs.url, "dbmate"),
      snapshot(mine.url, "engine"),
    ]);
    expectSame(a, b, "diff-empty-down after the rollback (dbmate, then engine)");
    expect(await query(mine.url, "select code from countries order by code")).toEqual([
      { code: "IS" },
      { code: "NZ" },
    ]);
    console.log(
      `[differential] diff-empty-down: engine refuses a plain rollback (${refused.message}); dbmate rolls back running nothing`,
    );
  });

  it("no down marker at all: the engine loads the file (the marker is optional); dbmate refuses it", async () => {
    const dir = corpusDir("diff-no-down-marker");
    const [mine, theirs] = await Promise.all([freshDatabase("engine"), freshDatabase("dbmate")]);
    const [report, run] = await Promise.all([
      engineApplyAll(mine.url, dir),
      dbmate("migrate", dir, theirs.url),
    ]);
    requireAllApplied(report, 1);
    expect(await relationExists(mine.url, "public.currencies")).toBe(true);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("dbmate requires each migration to define a down block");
    expect(await relationExists(theirs.url, "public.currencies")).toBe(false);
    console.log(
      `[differential] diff-no-down-marker: engine applied; dbmate: ${lastLine(run.output)}`,
    );
  });
});
