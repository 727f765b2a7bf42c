/**
 * The differential suite proper: realistic directories applied, rolled back (several steps, then
 * all the way) and applied again by dbmate and by the engine side by side; equal after each stage
 * (see support/corpus-case.ts). The three directories run concurrently.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { query } from "@studio/test-postgres";
import { afterAll, expect, it } from "vitest";
import { chooseComparison } from "./support/compare.ts";
import { describeCorpusCase } from "./support/corpus-case.ts";
import { dropDatabases } from "./support/database.ts";
import { dbmateVersions } from "./support/dbmate.ts";
import { withEngine } from "./support/engine.ts";
import { corpusDir } from "./support/paths.ts";
import { sqlFiles } from "./support/stages.ts";

const comparison = await chooseComparison();
console.log(`[differential] corpus: comparing with ${comparison.label}`);

afterAll(dropDatabases);

/**
 * A classic application's directory (NNN_snake_case names): schemas, identity keys, checks,
 * foreign keys, functions in $$ and $tag$ quotes whose bodies hold semicolons and
 * "-- migrate:down" inside strings, a trigger, a partitioned table whose partitions a DO block
 * creates, an enum with a value added and used later, views, a SQL-standard function body, seed
 * rows with every kind of literal, a transaction:false CREATE INDEX CONCURRENTLY, and an empty
 * down section.
 */
describeCorpusCase("classic-app", 3, comparison);

/**
 * A directory as `dbmate new` makes them: timestamp versions, names with '-', '.' and capitals,
 * a bare `<version>.sql`, a comment-only up section (a no-op that must be applied and recorded),
 * an empty down section, and an option dbmate ignores on both markers (`lock:off`).
 */
describeCorpusCase("dbmate-style", 3, comparison, ({ path, stage, dbmateDb, engineDb }) => {
  stage("applies and records the comment-only migration, as dbmate does", async () => {
    const status = await withEngine(engineDb().url, path, (engine) => engine.list());
    const reserved = status.migrations.find((m) => m.name === "20240103000000_reserve-billing");
    expect(reserved?.state).toBe("applied");
    expect(await dbmateVersions(dbmateDb().url)).toContain("20240103000000");
  });

  stage("reports the unknown marker option lock:off as a warning, not a refusal", async () => {
    const status = await withEngine(engineDb().url, path, (engine) => engine.list());
    expect(status.problems.filter((p) => p.blocking)).toEqual([]);
    expect(status.applied.map((m) => m.name)).toContain("20240104000000_add-user-flags");
    // SPEC §2: other options dbmate ignores are reported as a non-blocking warning.
    expect(JSON.stringify(status)).toContain("lock:off");
  });
});

/**
 * Files written on Windows: CRLF line endings everywhere, including inside a function body and a
 * string literal, which must reach the database byte for byte; one LF file among them.
 */
describeCorpusCase("crlf", 2, comparison, ({ path, stage, dbmateDb, engineDb }) => {
  stage(
    "stores a CRLF function body and string literal byte for byte, as dbmate does",
    async () => {
      const read = async (url: string) => {
        const [row] = await query<{ banner: string; signature: string; body: string }>(
          url,
          `select (select prosrc from pg_proc where oid = 'notes.banner()'::regprocedure) as banner,
                (select prosrc from pg_proc where oid = 'notes.signature(text)'::regprocedure) as signature,
                (select body from notes.notes where id = 1) as body`,
        );
        return row;
      };
      const [mine, theirs] = await Promise.all([read(engineDb().url), read(dbmateDb().url)]);
      const file = readFileSync(join(path, "001_create_notes.sql"), "utf8");
      const writtenBody = /as \$\$(.*?)\$\$;/s.exec(file)?.[1];
      expect(writtenBody).toContain("'first line\r\nsecond line'");
      expect(mine?.banner, "banner()'s prosrc is exactly the bytes between the $$").toBe(
        writtenBody,
      );
      expect(mine?.body).toBe(
        "Dear team,\r\nthe deploy is at 10:00; expect -- migrate:down to be tested first.\r\nThanks",
      );
      expect(mine?.signature).toContain("\r\nsent from the CRLF file; really'");
      expect(mine).toEqual(theirs);
    },
  );
});

it("the corpus holds the shapes the suite claims to cover", () => {
  const text = (dir: string) =>
    sqlFiles(corpusDir(dir))
      .map((f) => readFileSync(join(corpusDir(dir), f), "utf8"))
      .join("\n");
  const classic = text("classic-app");
  for (const needle of [
    "as $$",
    "as $body$",
    "as $fn$",
    "-- migrate:down; then apply again",
    "begin atomic",
    "create trigger",
    "create view",
    "do $$",
    "-- migrate:up transaction:false",
    "-- migrate:down transaction:false",
    "create index concurrently",
    "add value 'archived'",
    "comment on table app.accounts is 'Tenants; one row",
    "/* A project's name is unique within its account; case matters; see the UI. */",
    "insert into app.accounts",
  ]) {
    expect(classic, `classic-app should contain ${JSON.stringify(needle)}`).toContain(needle);
  }
  expect(readFileSync(join(corpusDir("classic-app"), "010_legacy_import_log.sql"), "utf8")).toMatch(
    /-- migrate:down\n$/,
  );
  expect(sqlFiles(corpusDir("dbmate-style"))).toContain("20240102000000.sql");
  expect(text("dbmate-style")).toContain("-- migrate:up lock:off");
  for (const file of sqlFiles(corpusDir("crlf")).filter((f) => f !== "004_lf_file.sql")) {
    const bytes = readFileSync(join(corpusDir("crlf"), file), "latin1");
    expect(bytes.split("\n").length - 1, `${file}: every line ends in CRLF`).toBe(
      bytes.split("\r\n").length - 1,
    );
  }
});
