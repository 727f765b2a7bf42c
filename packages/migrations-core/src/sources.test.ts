import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { directorySource } from "./directory-source.ts";
import { loadMigrationTexts } from "./sources.ts";

describe("loadMigrationTexts", () => {
  it("orders by the numeric value of the prefix, not the text", () => {
    const { migrations } = loadMigrationTexts([
      { name: "010_c", sql: "select 3;" },
      { name: "0009_b", sql: "select 2;" },
      { name: "001_a", sql: "select 1;" },
      { name: "20240101120000_d", sql: "select 4;" },
    ]);
    expect(migrations.map((m) => m.name)).toEqual(["001_a", "0009_b", "010_c", "20240101120000_d"]);
  });

  it("reports two files with one prefix and loads neither", () => {
    const { migrations, problems } = loadMigrationTexts([
      { name: "001_a", sql: "select 1;" },
      { name: "002_b", sql: "select 2;" },
      { name: "0002_c", sql: "select 3;" },
    ]);
    expect(migrations.map((m) => m.name)).toEqual(["001_a"]);
    expect(problems).toEqual([
      {
        file: "memory:0002_c",
        line: null,
        message: "duplicate prefix 0002: also used by memory:002_b",
      },
      {
        file: "memory:002_b",
        line: null,
        message: "duplicate prefix 002: also used by memory:0002_c",
      },
    ]);
  });

  it("keeps loading the good migrations beside a bad one", () => {
    const { migrations, problems } = loadMigrationTexts([
      { name: "001_a", sql: "select 1;" },
      { name: "002_b", sql: "" },
      { name: "003_c", sql: "select 3;" },
    ]);
    expect(migrations.map((m) => m.name)).toEqual(["001_a", "003_c"]);
    expect(problems).toEqual([{ file: "memory:002_b", line: null, message: "is empty" }]);
  });
});

describe("directorySource", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "migrations-core-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("loads the .sql files of a directory, in order, naming each by its stem", async () => {
    writeFileSync(
      join(dir, "002_second.sql"),
      "-- migrate:up\nselect 2;\n-- migrate:down\nselect 0;\n",
    );
    writeFileSync(join(dir, "001_first.sql"), "select 1;\n");
    writeFileSync(join(dir, "README.md"), "not a migration");
    const { migrations, problems } = await directorySource(dir).load();
    expect(problems).toEqual([]);
    expect(migrations.map((m) => [m.name, m.source])).toEqual([
      ["001_first", join(dir, "001_first.sql")],
      ["002_second", join(dir, "002_second.sql")],
    ]);
  });

  it("reports a .sql file whose name breaks the rule instead of skipping it", async () => {
    writeFileSync(join(dir, "1_bad-name.sql"), "select 1;");
    const { problems } = await directorySource(dir).load();
    expect(problems).toEqual([
      {
        file: join(dir, "1_bad-name.sql"),
        line: null,
        message: expect.stringContaining("NNN_snake_case_name.sql"),
      },
    ]);
  });

  it("reports a file that is not UTF-8 text", async () => {
    writeFileSync(join(dir, "001_binary.sql"), Buffer.from([0xff, 0xfe, 0x00, 0x81, 0x80]));
    const { problems } = await directorySource(dir).load();
    expect(problems).toEqual([
      { file: join(dir, "001_binary.sql"), line: null, message: "is not UTF-8 text" },
    ]);
  });

  it("reports an unreadable entry and a missing directory", async () => {
    mkdirSync(join(dir, "001_dir.sql"));
    expect((await directorySource(dir).load()).problems[0]?.message).toMatch(
      /cannot read file: EISDIR/,
    );
    const missing = await directorySource(join(dir, "nope")).load();
    expect(missing.problems[0]?.message).toMatch(/cannot read directory: ENOENT/);
  });

  it("sees files added and edited since the last load", async () => {
    const source = directorySource(dir);
    writeFileSync(join(dir, "001_a.sql"), "select 1;");
    expect((await source.load()).migrations).toHaveLength(1);
    writeFileSync(join(dir, "002_b.sql"), "select 2;");
    writeFileSync(join(dir, "001_a.sql"), "select 11;");
    const again = await source.load();
    expect(again.migrations.map((m) => m.up)).toEqual(["select 11;", "select 2;"]);
  });
});
