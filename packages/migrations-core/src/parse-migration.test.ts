import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checksumOf, normaliseLineEndings } from "./checksum.ts";
import { parseMigration } from "./parse-migration.ts";
import { splitSqlStatements } from "./sql-statements.ts";

const parse = (text: string, name = "001_create_things") =>
  parseMigration(name, text, `migrations/${name}.sql`);

function problemOf(text: string, name?: string) {
  const result = parse(text, name);
  if (result.ok) throw new Error("expected a problem");
  return result.problem;
}

function migrationOf(text: string, name?: string) {
  const result = parse(text, name);
  if (!result.ok) throw new Error(`expected a migration, got: ${result.problem.message}`);
  return result.migration;
}

describe("parseMigration", () => {
  it("splits dbmate's up and down sections and checksums the up section", () => {
    const result = parse(
      "-- migrate:up\ncreate table t (id int);\n\n-- migrate:down\ndrop table t;\n",
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.migration).toMatchObject({
      name: "001_create_things",
      prefix: "001",
      up: "create table t (id int);\n",
      down: "drop table t;\n",
      transactional: true,
    });
    expect(result.migration.checksum).toBe(checksumOf("create table t (id int);\n"));
    expect(result.migration.checksum).toMatch(/^[0-9a-f]{64}$/);
  });

  it("treats a file without markers as all up section, with no down", () => {
    const result = parse("create table t (id int);");
    expect(result.ok && result.migration.up).toBe("create table t (id int);");
    expect(result.ok && result.migration.down).toBeNull();
  });

  it("reads transaction:false from the up marker", () => {
    const result = parse(
      "-- migrate:up transaction:false\ncreate index concurrently i on t (id);\n",
    );
    expect(result.ok && result.migration.transactional).toBe(false);
  });

  it("reads transaction:false on the down marker separately, as dbmate does", () => {
    const result = parse(
      "-- migrate:up\nselect 1;\n-- migrate:down transaction:false\ndrop index concurrently i;\n",
    );
    expect(
      result.ok && [result.migration.transactional, result.migration.downTransactional],
    ).toEqual([true, false]);
  });

  it("gives a CRLF checkout the same checksum as LF", () => {
    const lf = parse("-- migrate:up\ncreate table t (id int);\n-- migrate:down\ndrop table t;\n");
    const crlf = parse(
      "-- migrate:up\r\ncreate table t (id int);\r\n-- migrate:down\r\ndrop table t;\r\n",
    );
    expect(lf.ok && crlf.ok && crlf.migration.checksum === lf.migration.checksum).toBe(true);
  });

  it("does not let the down section change the checksum", () => {
    const a = parse("-- migrate:up\nselect 1;\n-- migrate:down\ndrop table a;\n");
    const b = parse("-- migrate:up\nselect 1;\n-- migrate:down\ndrop table b;\n");
    expect(a.ok && b.ok && a.migration.checksum === b.migration.checksum).toBe(true);
  });

  it("treats an empty or comment-only down section as no down section", () => {
    const result = parse("-- migrate:up\nselect 1;\n-- migrate:down\n-- nothing to undo\n\n");
    expect(result.ok && result.migration.down).toBeNull();
  });

  it("rejects an empty file, naming it, as an error of its version", () => {
    expect(problemOf("  \n\n")).toEqual({
      file: "migrations/001_create_things.sql",
      line: null,
      message: "is empty",
      severity: "error",
      version: "001",
      migrationName: "001_create_things",
    });
  });

  it("rejects a file with only a down section, naming the line", () => {
    expect(problemOf("-- just a comment\n-- migrate:down\ndrop table t;\n")).toMatchObject({
      line: 2,
      message: expect.stringContaining("only a down section"),
    });
  });

  it("loads an up section of nothing but comments as a no-op migration, as dbmate applies it", () => {
    const migration = migrationOf("-- migrate:up\n-- todo\n\n-- migrate:down\ndrop table t;");
    expect(migration.up).toBe("-- todo\n");
    expect(splitSqlStatements(migration.up)).toEqual([]);
    expect(migration.checksum).toBe(checksumOf("-- todo\n"));
    expect(migration.down).toBe("drop table t;");
    // What `studio-migrate new` and `dbmate new` write, before any SQL is added.
    expect(splitSqlStatements(migrationOf("-- migrate:up\n\n-- migrate:down\n").up)).toEqual([]);
    expect(migrationOf("-- migrate:up\r\n/* later */\r\n").up).toBe("/* later */\r\n");
  });

  it("rejects a file of comments only without an up marker (dbmate requires one)", () => {
    expect(problemOf("-- todo: write this\n\n")).toMatchObject({
      line: null,
      message: expect.stringContaining('start it with "-- migrate:up"'),
    });
  });

  it("rejects a transaction: value other than true or false, naming the line", () => {
    // dbmate would run the section in a transaction: surely not what transaction:FALSE meant.
    for (const option of ["transaction:maybe", "transaction:FALSE", "transaction:"]) {
      expect(problemOf(`\n-- migrate:up ${option}\nselect 1;`), option).toMatchObject({
        line: 2,
        severity: "error",
        message: expect.stringContaining(`unknown option "${option}"`),
      });
    }
  });

  it("loads a migration whose marker has an option dbmate ignores, with a warning naming the line", () => {
    const result = parse(
      "-- migrate:up lock:off transaction:false\ncreate index concurrently i on t (id);\n-- migrate:down foo\ndrop index i;\n",
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.migration).toMatchObject({ transactional: false, downTransactional: true });
    expect(result.warnings).toEqual([
      {
        file: "migrations/001_create_things.sql",
        line: 1,
        severity: "warning",
        version: "001",
        migrationName: "001_create_things",
        message: expect.stringContaining('option "lock:off" on "-- migrate:up" is ignored'),
      },
      expect.objectContaining({
        line: 3,
        severity: "warning",
        message: expect.stringContaining('"foo"'),
      }),
    ]);
    expect(
      parse("-- migrate:up\nselect 1;").ok && parse("-- migrate:up\nselect 1;").warnings,
    ).toEqual([]);
  });

  it("takes the last transaction option, as dbmate does", () => {
    expect(
      migrationOf("-- migrate:up transaction:false transaction:true\nselect 1;").transactional,
    ).toBe(true);
    expect(migrationOf("-- migrate:up\ttransaction:false\nselect 1;").transactional).toBe(false);
  });

  it("rejects repeated and misplaced markers", () => {
    expect(problemOf("-- migrate:up\nselect 1;\n-- migrate:up\nselect 2;")).toMatchObject({
      line: 3,
    });
    expect(problemOf("-- migrate:down\nselect 1;\n-- migrate:up\nselect 2;")).toMatchObject({
      line: 3,
    });
    expect(problemOf("-- migrate:up\nselect 1;\n-- migrate:down\n-- migrate:down\n")).toMatchObject(
      { line: 4 },
    );
    expect(problemOf("-- migrate:sideways\nselect 1;")).toMatchObject({
      line: 1,
      message: expect.stringContaining('unknown marker "-- migrate:sideways"'),
    });
  });

  it("refuses an indented down marker instead of running the down SQL as part of the up", () => {
    // Before: the indented line was a comment, so `drop table t` ran right after the create.
    for (const indent of ["\t", "  ", " \t "]) {
      const problem = problemOf(
        `-- migrate:up\ncreate table t (id int);\n${indent}-- migrate:down\ndrop table t;\n`,
      );
      expect(problem, JSON.stringify(indent)).toMatchObject({
        file: "migrations/001_create_things.sql",
        line: 3,
        severity: "error",
        message: expect.stringContaining("is indented"),
      });
    }
    expect(problemOf("  -- migrate:up\nselect 1;\n")).toMatchObject({ line: 1 });
  });

  it("refuses every line that looks like a marker but is not one dbmate reads, naming it", () => {
    for (const line of [
      "-- Migrate:Down",
      "-- MIGRATE:DOWN",
      "--- migrate:down",
      "-- migrate: down",
      "-- migrate :down",
      "-- migrate:downgrade",
      "-- migrate:down\u00a0transaction:false",
      "-- migrate:",
      "\t--migrate:down",
    ]) {
      const problem = problemOf(`-- migrate:up\nselect 1;\n${line}\nselect 2;\n`);
      expect(problem, line).toMatchObject({ line: 3, severity: "error" });
      expect(problem.message, line).toContain(line.trim().slice(0, 10));
    }
  });

  it("refuses a marker dbmate reads over two lines (its \\s* runs on across the line break)", () => {
    expect(problemOf("-- migrate:up\nselect 1;\n--\nmigrate:down\nselect 2;\n")).toMatchObject({
      line: 3,
      message: expect.stringContaining("on one line"),
    });
    expect(problemOf("--  \r\n  migrate:up\r\nselect 1;\r\n")).toMatchObject({ line: 1 });
  });

  it("reads markers exactly where dbmate does: at the very start of a line, with or without a space", () => {
    const migration = migrationOf("--migrate:up\nselect 1;\n--migrate:down\nselect 0;\n");
    expect([migration.up, migration.down]).toEqual(["select 1;", "select 0;\n"]);
    // Text that merely mentions a marker, not at the start of a line, is SQL or comment as usual.
    expect(
      migrationOf("-- migrate:up\nselect 1; -- migrate:down is below\n/* -- migrate:down */\n").up,
    ).toBe("select 1; -- migrate:down is below\n/* -- migrate:down */\n");
    // At the start of a line inside a string, it is a marker to dbmate too: refused, never SQL.
    expect(problemOf("-- migrate:up\nselect '\n-- migrate:down\n';\n").message).toContain(
      "unterminated quoted string",
    );
  });

  it("rejects SQL before the up marker, which would never run", () => {
    expect(problemOf("select 0;\n-- migrate:up\nselect 1;")).toMatchObject({ line: 1 });
  });

  it("rejects an unterminated dollar quote, naming the file line where it opens", () => {
    const problem = problemOf(
      "-- migrate:up\ncreate function f() returns int as $body$\n  select 1;\n-- migrate:down\ndrop function f;",
    );
    expect(problem).toMatchObject({ file: "migrations/001_create_things.sql", line: 2 });
    expect(problem.message).toContain("unterminated dollar-quoted string $body$");
  });

  it("rejects an unterminated quote in the down section at its file line", () => {
    expect(problemOf("-- migrate:up\nselect 1;\n-- migrate:down\n\nselect 'oops;\n")).toMatchObject(
      {
        line: 5,
        message: "unterminated quoted string",
      },
    );
  });

  it("rejects transaction control in a section the engine wraps in a transaction, at its line", () => {
    for (const [statement, shown] of [
      ["COMMIT", "COMMIT"],
      ["begin", "BEGIN"],
      ["start  transaction isolation level serializable", "START TRANSACTION"],
      ["END", "END"],
      ["abort", "ABORT"],
      ["rollback", "ROLLBACK"],
      ["prepare transaction 'x'", "PREPARE TRANSACTION"],
    ]) {
      const problem = problemOf(`-- migrate:up\ncreate table a (id int);\n${statement};\n`);
      expect(problem, statement).toMatchObject({
        file: "migrations/001_create_things.sql",
        line: 3,
      });
      expect(problem.message).toContain(`"${shown}" controls the transaction`);
      expect(problem.message).toContain("transaction:false");
    }
    const down = problemOf(
      "-- migrate:up\nselect 1;\n-- migrate:down\nbegin;\nselect 2;\ncommit;\n",
    );
    expect(down).toMatchObject({ line: 4 });
  });

  it("accepts savepoints, BEGIN ATOMIC bodies, PL/pgSQL blocks, and transaction control where no transaction wraps it", () => {
    const fine = [
      "-- migrate:up\nsavepoint s;\ncreate table a (id int);\nrollback to savepoint s;\nrelease savepoint s;",
      "-- migrate:up\nrollback work to s;",
      "-- migrate:up\ncreate function f() returns int language sql\nbegin atomic\n  select 1;\n  select 2;\nend;\ncreate table a (id int);",
      "-- migrate:up\ndo $$ begin perform 1; end $$;",
      "-- migrate:up\ncreate table ending (id int);\ncomment on table ending is 'commit; begin';",
      "-- migrate:up transaction:false\nbegin;\ncreate table a (id int);\ncommit;",
    ];
    for (const text of fine) expect(parse(text).ok, text).toBe(true);
  });

  it("rejects binary content", () => {
    expect(problemOf("select 1;\u0000\u0001")).toMatchObject({
      message: expect.stringContaining("NUL"),
    });
  });

  it("loads dbmate's names as they are: any digits, then _ or - and letters, digits, _, - and .", () => {
    for (const name of [
      "20240101120000_create-users-table",
      "20240101120000",
      "1_short",
      "001-dash",
      "001_Upper.Case-v2",
      "001_",
      `1_${"a".repeat(198)}`,
    ]) {
      expect(migrationOf("select 1;", name), name).toMatchObject({ name });
    }
    expect(migrationOf("select 1;", "20240101120000_create-users-table").prefix).toBe(
      "20240101120000",
    );
    expect(migrationOf("select 1;", "20240101120000").prefix).toBe("20240101120000");
  });

  it("rejects names that break the naming rule, with no version, blocking everything", () => {
    for (const name of [
      "../001_x",
      "001_a/b",
      "001..x",
      "001_a..b",
      "001 x",
      "001.x",
      "001_é",
      "abc_def",
      "_001",
      "",
      `1_${"a".repeat(199)}`,
    ]) {
      expect(problemOf("select 1;", name), name).toMatchObject({
        message: expect.stringContaining("not a valid migration name"),
        severity: "error",
        version: null,
        migrationName: null,
      });
    }
  });

  it("refuses a lone carriage return (old Mac line endings), naming its line", () => {
    expect(problemOf("-- migrate:up\nselect 1;\n-- note\rdrop table t;\n")).toMatchObject({
      line: 3,
      message: expect.stringContaining("carriage return"),
    });
  });

  it("refuses a byte-order mark, as dbmate does (it reads it as text before the marker)", () => {
    expect(problemOf("\ufeff-- migrate:up\nselect 1;\n")).toMatchObject({
      line: 1,
      message: expect.stringContaining("byte-order mark"),
    });
  });
});

describe("parseMigration: the SQL is the file's bytes, the checksum is line-ending blind", () => {
  it("keeps CRLF in the up and down sections, exactly as written", () => {
    const migration = migrationOf(
      "-- migrate:up\r\ncreate function f() returns text language sql as $$ select 'a\r\nb' $$;\r\n\r\n-- migrate:down\r\ndrop function f;\r\n",
    );
    expect(migration.up).toBe(
      "create function f() returns text language sql as $$ select 'a\r\nb' $$;\r\n",
    );
    expect(migration.down).toBe("drop function f;\r\n");
    const markerless = migrationOf("select 1;\r\nselect 2;\r\n");
    expect(markerless.up).toBe("select 1;\r\nselect 2;\r\n");
  });

  it("leaves the checksum of an LF file what it was before the loader kept bytes", () => {
    // Values computed by the previous loader (which normalised the text before splitting it):
    // recorded checksums of LF files stay valid.
    expect(
      migrationOf("-- migrate:up\ncreate table t (id int);\n\n-- migrate:down\ndrop table t;\n")
        .checksum,
    ).toBe("fb1392022b81a61d209097d28d3ccc17a0de4619aa440f5f820859a94b208102");
    expect(migrationOf("create table t (id int);\ninsert into t values (1);\n").checksum).toBe(
      "b649b7df2368761a70b4b00395e2e5dff8a3eb0b40bbf26fcf73e054560c4edb",
    );
    expect(
      migrationOf(
        "-- A header comment\n\n-- migrate:up transaction:false\ncreate index concurrently i on t (id);\n-- migrate:down\ndrop index i;\n",
      ).checksum,
    ).toBe("e2b4ebb56edebe0f45237c9ebfd3ba48f72e1fb40cf3e060da491f4ce6a413f7");
    expect(
      migrationOf(
        "-- migrate:up\ncreate function f() returns int language sql as $$ select 1 $$;\n",
      ).checksum,
    ).toBe("deb53f1b3c8eae07b9050aa15d0f644a038311f778d3227aecda9cc19d0bdc10");
  });

  it("numbers problems by the file's own lines, CRLF or not", () => {
    expect(
      problemOf("-- migrate:up\r\nselect 1;\r\n\r\nselect 'open;\r\n-- migrate:down\r\n"),
    ).toMatchObject({ line: 4, message: "unterminated quoted string" });
    expect(problemOf("-- migrate:up\r\nselect 1;\r\n\t-- migrate:down\r\n")).toMatchObject({
      line: 3,
    });
  });

  it("parses any text and its CRLF twin alike: same outcome, checksum and flags (property)", () => {
    const piece = fc.constantFrom(
      "-- migrate:up",
      "-- migrate:up transaction:false",
      "-- migrate:up lock:off",
      "-- migrate:down",
      "-- migrate:down transaction:false",
      "--migrate:down",
      "\t-- migrate:down",
      "--",
      "migrate:up",
      "-- comment",
      "select 1;",
      "create table t (id int);",
      "begin;",
      "commit;",
      "'",
      "$$",
      "/*",
      "*/",
      "",
      " ",
      "\n",
      "\r\n",
    );
    const text = fc
      .array(
        fc.oneof(
          piece,
          piece.map((p) => `${p}\n`),
          fc.string({ maxLength: 4 }),
        ),
        {
          maxLength: 12,
        },
      )
      .map((parts) => parts.join("").replace(/\r/g, ""));
    fc.assert(
      fc.property(text, (lf) => {
        const crlf = lf.replace(/\n/g, "\r\n");
        const a = parse(lf);
        const b = parse(crlf);
        expect(b.ok).toBe(a.ok);
        expect(b.warnings).toEqual(a.warnings);
        if (a.ok && b.ok) {
          expect(b.migration.checksum).toBe(a.migration.checksum);
          expect(normaliseLineEndings(b.migration.up)).toBe(a.migration.up);
          expect(b.migration.down === null ? null : normaliseLineEndings(b.migration.down)).toBe(
            a.migration.down,
          );
          expect([
            b.migration.name,
            b.migration.transactional,
            b.migration.downTransactional,
          ]).toEqual([a.migration.name, a.migration.transactional, a.migration.downTransactional]);
        } else if (!a.ok && !b.ok) {
          expect(b.problem).toEqual(a.problem);
        }
      }),
      { numRuns: 2_000 },
    );
  });
});
