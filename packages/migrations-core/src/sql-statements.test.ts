import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SqlLexError, splitSqlStatements } from "./sql-statements.ts";

const texts = (sql: string) => splitSqlStatements(sql).map((s) => s.text);

describe("splitSqlStatements", () => {
  it("splits on top-level semicolons and trims", () => {
    expect(texts("select 1;\n  select 2 ;select 3")).toEqual(["select 1", "select 2", "select 3"]);
  });

  it("keeps semicolons inside strings, identifiers, dollar quotes and comments", () => {
    const sql = [
      "select 'a;b', 'it''s;';",
      `select "we;ird""name" from t;`,
      "create function f() returns text as $$ select ';'; $$ language sql;",
      "do $body$ begin perform 1; /* ; */ end $body$;",
      "select E'back\\'slash;';",
      "select 1 /* outer /* nested ; */ still comment ; */;",
      "select 2 -- trailing ; comment\n;",
    ].join("\n");
    expect(texts(sql)).toEqual([
      "select 'a;b', 'it''s;'",
      `select "we;ird""name" from t`,
      "create function f() returns text as $$ select ';'; $$ language sql",
      "do $body$ begin perform 1; /* ; */ end $body$",
      "select E'back\\'slash;'",
      "select 1 /* outer /* nested ; */ still comment ; */",
      "select 2 -- trailing ; comment",
    ]);
  });

  it("does not take positional parameters or identifiers with $ for dollar quotes", () => {
    expect(texts("select $1; select a$b$ from t; select 2")).toEqual([
      "select $1",
      "select a$b$ from t",
      "select 2",
    ]);
  });

  it("drops statements that are only comments and reports where each statement starts", () => {
    expect(splitSqlStatements("-- header\n\nselect 1;\n/* c */;\n\n  select\n 2;")).toEqual([
      { text: "select 1", line: 3 },
      { text: "select\n 2", line: 6 },
    ]);
  });

  it("reports unterminated tokens with the line they open on", () => {
    const lexError = (sql: string) => {
      try {
        splitSqlStatements(sql);
      } catch (error) {
        if (error instanceof SqlLexError) return [error.line, error.message];
      }
      return null;
    };
    expect(lexError("select 1;\nselect 'x")).toEqual([2, "unterminated quoted string"]);
    expect(lexError('\n\nselect "x')).toEqual([3, "unterminated quoted identifier"]);
    expect(lexError("select $q$ x $Q$")).toEqual([1, "unterminated dollar-quoted string $q$"]);
    expect(lexError("select 1 /* /* */")).toEqual([1, "unterminated /* comment"]);
  });

  it("recovers any list of statements joined with semicolons (property)", () => {
    const fragment = fc.oneof(
      fc.stringMatching(/^[a-z0-9 ,()=<>+*]{1,12}$/),
      fc.string({ maxLength: 8 }).map((s) => `'${s.replaceAll("'", "''")}'`),
      fc.string({ maxLength: 8 }).map((s) => `"${s.replaceAll('"', '""')}"`),
      fc
        .string({ maxLength: 8 })
        .filter((s) => !s.includes("$q$"))
        .map((s) => `$q$${s}$q$`),
      fc
        .string({ maxLength: 8 })
        .map((s) => `/*${s}*/`)
        // Only the outer markers may open or close a comment (Postgres nests them).
        .filter((c) => !c.slice(1, -1).includes("/*") && !c.slice(1, -1).includes("*/")),
    );
    const statement = fc
      .array(fragment, { minLength: 1, maxLength: 5 })
      .map((parts) => `select ${parts.join(" ")}`);
    fc.assert(
      fc.property(fc.array(statement, { minLength: 1, maxLength: 6 }), (statements) => {
        expect(texts(statements.join(";\n"))).toEqual(statements.map((s) => s.trim()));
      }),
    );
  });
});
