import { describe, expect, it } from "vitest";
import { checksumOf } from "./checksum.ts";
import { parseMigration } from "./parse-migration.ts";

const parse = (text: string, name = "001_create_things") =>
  parseMigration(name, text, `migrations/${name}.sql`);

function problemOf(text: string, name?: string) {
  const result = parse(text, name);
  if (result.ok) throw new Error("expected a problem");
  return result.problem;
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

  it("rejects an empty file, naming it", () => {
    expect(problemOf("  \n\n")).toEqual({
      file: "migrations/001_create_things.sql",
      line: null,
      message: "is empty",
    });
  });

  it("rejects a file with only a down section, naming the line", () => {
    expect(problemOf("-- just a comment\n-- migrate:down\ndrop table t;\n")).toMatchObject({
      line: 2,
      message: expect.stringContaining("only a down section"),
    });
  });

  it("rejects an up section with nothing but comments", () => {
    expect(problemOf("-- migrate:up\n-- todo\n-- migrate:down\ndrop table t;")).toMatchObject({
      line: 1,
      message: "has an empty up section",
    });
  });

  it("rejects an unknown option on the up marker, naming the line", () => {
    expect(problemOf("\n-- migrate:up transaction:maybe\nselect 1;")).toMatchObject({
      line: 2,
      message: expect.stringContaining('unknown option "transaction:maybe"'),
    });
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
    expect(problemOf("-- migrate:sideways\nselect 1;")).toMatchObject({ line: 1 });
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

  it("rejects names that break the naming rule", () => {
    for (const name of [
      "1_short",
      "001-dash",
      "001_Upper",
      "../001_x",
      "001_a.sql",
      "001_",
      "abc_def",
    ]) {
      expect(problemOf("select 1;", name).message).toContain("not a valid migration name");
    }
  });
});
