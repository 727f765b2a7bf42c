import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
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

  it("reports two files with one version and loads neither", () => {
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
        message: "duplicate version 0002: also used by memory:002_b",
        severity: "error",
        version: "0002",
        migrationName: "0002_c",
      },
      {
        file: "memory:002_b",
        line: null,
        message: "duplicate version 002: also used by memory:0002_c",
        severity: "error",
        version: "002",
        migrationName: "002_b",
      },
    ]);
  });

  it("counts a file that does not load as holding its version: its twin is not silently the one", () => {
    const { migrations, problems } = loadMigrationTexts([
      { name: "001_a", sql: "select 1;" },
      { name: "2", sql: "select 2;" },
      { name: "002-broken", sql: "-- migrate:up\nselect 'open;\n" },
    ]);
    expect(migrations.map((m) => m.name)).toEqual(["001_a"]);
    expect(problems.map((p) => [p.file, p.severity, p.message])).toEqual([
      ["memory:002-broken", "error", "unterminated quoted string"],
      ["memory:002-broken", "error", "duplicate version 002: also used by memory:2"],
      ["memory:2", "error", "duplicate version 2: also used by memory:002-broken"],
    ]);
  });

  it("keeps loading the good migrations beside a bad one", () => {
    const { migrations, problems } = loadMigrationTexts([
      { name: "001_a", sql: "select 1;" },
      { name: "002_b", sql: "" },
      { name: "003_c", sql: "select 3;" },
    ]);
    expect(migrations.map((m) => m.name)).toEqual(["001_a", "003_c"]);
    expect(problems).toEqual([
      {
        file: "memory:002_b",
        line: null,
        message: "is empty",
        severity: "error",
        version: "002",
        migrationName: "002_b",
      },
    ]);
  });

  it("loads a migration with a warning beside it, and passes the warning on", () => {
    const { migrations, problems } = loadMigrationTexts([
      { name: "001_a", sql: "-- migrate:up lock:off\nselect 1;" },
    ]);
    expect(migrations.map((m) => m.name)).toEqual(["001_a"]);
    expect(problems).toMatchObject([{ severity: "warning", line: 1, version: "001" }]);
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

  it("loads dbmate's file names as they are, bare versions too", async () => {
    writeFileSync(
      join(dir, "20240101120000_create-users-table.sql"),
      "-- migrate:up\ncreate table users (id int);\n-- migrate:down\ndrop table users;\n",
    );
    writeFileSync(join(dir, "20240102000000.sql"), "-- migrate:up\nselect 1;\n-- migrate:down\n");
    writeFileSync(join(dir, "3_Mixed.Case-name.sql"), "select 3;");
    const { migrations, problems } = await directorySource(dir).load();
    expect(problems).toEqual([]);
    expect(migrations.map((m) => [m.name, m.prefix])).toEqual([
      ["3_Mixed.Case-name", "3"],
      ["20240101120000_create-users-table", "20240101120000"],
      ["20240102000000", "20240102000000"],
    ]);
  });

  it("warns about a .sql file whose name breaks the rule, and ignores it without blocking", async () => {
    writeFileSync(join(dir, "001_good.sql"), "select 1;");
    writeFileSync(join(dir, "bad name.sql"), "select 1;");
    writeFileSync(join(dir, "002 spaced.sql"), "select 2;");
    writeFileSync(join(dir, "notes.txt"), "not a migration");
    writeFileSync(join(dir, "003_upper.SQL"), "select 3;");
    const { migrations, problems } = await directorySource(dir).load();
    expect(migrations.map((m) => m.name)).toEqual(["001_good"]);
    expect(problems).toEqual(
      ["002 spaced.sql", "bad name.sql"].map((file) => ({
        file: join(dir, file),
        line: null,
        message: expect.stringContaining("is not a migration file name"),
        severity: "warning",
        version: null,
        migrationName: null,
      })),
    );
  });

  it("reports a file that is not UTF-8 text", async () => {
    writeFileSync(join(dir, "001_binary.sql"), Buffer.from([0xff, 0xfe, 0x00, 0x81, 0x80]));
    const { problems } = await directorySource(dir).load();
    expect(problems).toEqual([
      {
        file: join(dir, "001_binary.sql"),
        line: null,
        message: "is not UTF-8 text",
        severity: "error",
        version: "001",
        migrationName: "001_binary",
      },
    ]);
  });

  it("ignores directories, whatever their name, and does not read subdirectories", async () => {
    mkdirSync(join(dir, "001_dir.sql"));
    mkdirSync(join(dir, "archive"));
    writeFileSync(join(dir, "archive", "002_old.sql"), "select 2;");
    writeFileSync(join(dir, "003_c.sql"), "select 3;");
    const { migrations, problems } = await directorySource(dir).load();
    expect(problems).toEqual([]);
    expect(migrations.map((m) => m.name)).toEqual(["003_c"]);
  });

  it("reports a missing directory, with no version: it blocks every apply", async () => {
    const missing = await directorySource(join(dir, "nope")).load();
    expect(missing.problems).toMatchObject([
      {
        severity: "error",
        version: null,
        message: expect.stringMatching(/cannot read directory: ENOENT/),
      },
    ]);
  });

  it("follows a symbolic link only to a file inside the directory", async () => {
    const outside = mkdtempSync(join(tmpdir(), "migrations-core-outside-"));
    try {
      writeFileSync(join(outside, "secret.sql"), "drop table everything;");
      mkdirSync(join(dir, "shared"));
      writeFileSync(join(dir, "shared", "body.sql"), "select 'inside';");
      writeFileSync(join(dir, "001_real.sql"), "select 1;");
      symlinkSync("001_real.sql", join(dir, "002_alias.sql"));
      symlinkSync(join("shared", "body.sql"), join(dir, "003_nested.sql"));
      symlinkSync(join(outside, "secret.sql"), join(dir, "004_escape.sql"));
      symlinkSync(join("..", "..", outside, "secret.sql"), join(dir, "005_relative-escape.sql"));
      symlinkSync("missing.sql", join(dir, "006_dangling.sql"));
      symlinkSync("shared", join(dir, "007_dir-link.sql"));
      const { migrations, problems } = await directorySource(dir).load();
      expect(migrations.map((m) => [m.name, m.up])).toEqual([
        ["001_real", "select 1;"],
        ["002_alias", "select 1;"],
        ["003_nested", "select 'inside';"],
      ]);
      expect(problems.map((p) => [p.file, p.severity, p.version])).toEqual([
        [join(dir, "004_escape.sql"), "error", "004"],
        [join(dir, "005_relative-escape.sql"), "error", "005"],
        [join(dir, "006_dangling.sql"), "error", "006"],
      ]);
      expect(problems[0]?.message).toContain("outside the migrations directory");
      expect(problems[1]?.message).toContain("outside the migrations directory");
      expect(problems[2]?.message).toContain("leads nowhere");
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it("hands the file's bytes on as written: CRLF kept, a byte-order mark refused", async () => {
    writeFileSync(
      join(dir, "001_crlf.sql"),
      "-- migrate:up\r\nselect 'a\r\nb';\r\n-- migrate:down\r\nselect 0;\r\n",
    );
    writeFileSync(join(dir, "002_bom.sql"), "\ufeff-- migrate:up\nselect 1;\n");
    const { migrations, problems } = await directorySource(dir).load();
    expect(migrations[0]).toMatchObject({ up: "select 'a\r\nb';", down: "select 0;\r\n" });
    expect(problems).toMatchObject([
      { line: 1, severity: "error", message: expect.stringContaining("byte-order mark") },
    ]);
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
