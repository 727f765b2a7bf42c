import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SqlLexError, type SqlStatement, splitSqlStatements } from "./sql-statements.ts";

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

  it("gives nothing for a section of comments and whitespace only (a no-op migration)", () => {
    for (const sql of [
      "",
      "\n\n",
      "-- todo\n",
      "/* a */\r\n-- b\r\n  \t",
      ";\n;",
      "-- x\n;\n/* y */;",
    ]) {
      expect(splitSqlStatements(sql), JSON.stringify(sql)).toEqual([]);
    }
  });

  it("splits CRLF text as its LF twin: statement text kept byte for byte, lines counted alike", () => {
    const lf =
      "-- header\n\nselect 1;\ncreate function f() returns text language sql\nas $$ select 'a\nb' $$;\n  select\n 2; -- end\n";
    const crlf = lf.replace(/\n/g, "\r\n");
    const a = splitSqlStatements(lf);
    const b = splitSqlStatements(crlf);
    expect(b.map((s) => s.line)).toEqual([3, 4, 7]);
    expect(b.map((s) => s.line)).toEqual(a.map((s) => s.line));
    expect(b.map((s) => s.text)).toEqual([
      "select 1",
      "create function f() returns text language sql\r\nas $$ select 'a\r\nb' $$",
      "select\r\n 2",
    ]);
    expect(b.map((s) => s.text.replace(/\r\n/g, "\n"))).toEqual(a.map((s) => s.text));
    const lexLine = (sql: string) => {
      try {
        splitSqlStatements(sql);
      } catch (error) {
        if (error instanceof SqlLexError) return error.line;
      }
      return null;
    };
    expect(lexLine("select 1;\r\n\r\nselect 'x;\r\n")).toBe(3);
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

  it("keeps semicolons inside parentheses and SQL-standard routine bodies, as psql does", () => {
    const sql = [
      "create rule r as on insert to t do also (insert into a values (1); insert into b values (2));",
      "create function f(x int) returns text language sql\nbegin atomic\n  select case when x > 0 then 'p;' else 'n' end;\n  select 'two';\nend;",
      "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC insert into t values (1); END;",
      'create table events (id int, begin_at int, "end" int, "begin" int);',
      "select case when true then 1 end;",
      "create function g() returns int language sql return 1;",
      "select 2",
    ].join("\n");
    expect(texts(sql)).toEqual([
      "create rule r as on insert to t do also (insert into a values (1); insert into b values (2))",
      "create function f(x int) returns text language sql\nbegin atomic\n  select case when x > 0 then 'p;' else 'n' end;\n  select 'two';\nend",
      "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC insert into t values (1); END",
      'create table events (id int, begin_at int, "end" int, "begin" int)',
      "select case when true then 1 end",
      "create function g() returns int language sql return 1",
      "select 2",
    ]);
  });

  it("recovers any list of statements joined with semicolons (property)", () => {
    const fragment = fc.oneof(
      fc.stringMatching(/^[a-z0-9 ,=<>+*]{1,12}$/),
      fc.stringMatching(/^[a-z0-9 ,;=<>+*]{0,10}$/).map((inner) => `(${inner})`),
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
  it("agrees with the straightforward character-by-character lexer it replaced (property)", () => {
    const outcome = (split: (sql: string) => SqlStatement[], sql: string) => {
      try {
        return { statements: split(sql) };
      } catch (error) {
        if (error instanceof SqlLexError) return { error: [error.message, error.line] };
        throw error;
      }
    };
    const piece = fc.constantFrom(
      "-",
      "--",
      "/",
      "/*",
      "*/",
      "*",
      ";",
      "'",
      "''",
      '"',
      "$",
      "$$",
      "$q$",
      "$1",
      "E'",
      "e'",
      "\\",
      "\\'",
      "\n",
      " ",
      "\t",
      "\r\n",
      "select",
      "x",
      "a$b",
      "é",
      "\u00a0",
      "\u2028",
    );
    const sqlText = fc.array(
      fc.oneof(piece, fc.constantFrom("(", ")"), fc.string({ maxLength: 4 })),
      {
        maxLength: 40,
      },
    );
    fc.assert(
      fc.property(sqlText, (pieces) => {
        const sql = pieces.join("");
        expect(outcome(splitSqlStatements, sql)).toEqual(outcome(referenceSplit, sql));
      }),
      { numRuns: 3_000 },
    );
  });
});

// The lexer as it was first written, one character at a time (with psql's parenthesis rule
// added): the oracle for the property above, whose inputs hold no routine bodies.
const REF_DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;
const REF_IDENTIFIER_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;

function referenceSplit(sql: string): SqlStatement[] {
  const statements: SqlStatement[] = [];
  let line = 1;
  let start = 0;
  let startLine = 1;
  // Whether the current statement has anything but whitespace and comments.
  let substantive = false;
  let parens = 0;
  let i = 0;

  const advanceTo = (end: number) => {
    for (let k = i; k < end; k++) if (sql.charCodeAt(k) === 10) line++;
    i = end;
  };
  const flush = (end: number) => {
    if (substantive) statements.push({ text: sql.slice(start, end).trim(), line: startLine });
    substantive = false;
    parens = 0;
  };

  while (i < sql.length) {
    const ch = sql[i] as string;
    const next = sql[i + 1];
    if (ch === "-" && next === "-") {
      const end = sql.indexOf("\n", i);
      advanceTo(end === -1 ? sql.length : end);
      continue;
    }
    if (ch === "/" && next === "*") {
      const opened = line;
      let depth = 1;
      let k = i + 2;
      while (k < sql.length && depth > 0) {
        if (sql[k] === "/" && sql[k + 1] === "*") {
          depth++;
          k += 2;
        } else if (sql[k] === "*" && sql[k + 1] === "/") {
          depth--;
          k += 2;
        } else k++;
      }
      if (depth > 0) throw new SqlLexError("unterminated /* comment", opened);
      advanceTo(k);
      continue;
    }
    if (ch === ";" && parens === 0) {
      flush(i);
      i++;
      continue;
    }
    if (ch === "(") parens++;
    if (ch === ")" && parens > 0) parens--;
    if (!substantive && !/\s/.test(ch)) {
      substantive = true;
      start = i;
      startLine = line;
    }
    if (ch === "'") {
      const prev = sql[i - 1];
      const escapes =
        (prev === "E" || prev === "e") &&
        (i < 2 || !REF_IDENTIFIER_CHAR.test(sql[i - 2] as string));
      advanceTo(refEndOfQuoted(sql, i, "'", escapes, line));
      continue;
    }
    if (ch === '"') {
      advanceTo(refEndOfQuoted(sql, i, '"', false, line));
      continue;
    }
    if (ch === "$" && (i === 0 || !REF_IDENTIFIER_CHAR.test(sql[i - 1] as string))) {
      REF_DOLLAR_TAG.lastIndex = i;
      const tag = REF_DOLLAR_TAG.exec(sql)?.[0];
      if (tag) {
        const close = sql.indexOf(tag, i + tag.length);
        if (close === -1) throw new SqlLexError(`unterminated dollar-quoted string ${tag}`, line);
        advanceTo(close + tag.length);
        continue;
      }
    }
    advanceTo(i + 1);
  }
  flush(sql.length);
  return statements;
}

function refEndOfQuoted(
  sql: string,
  open: number,
  quote: "'" | '"',
  backslashEscapes: boolean,
  line: number,
): number {
  let k = open + 1;
  while (k < sql.length) {
    const c = sql[k];
    if (backslashEscapes && c === "\\") {
      k += 2;
      continue;
    }
    if (c === quote) {
      if (sql[k + 1] === quote) {
        k += 2;
        continue;
      }
      return k + 1;
    }
    k++;
  }
  throw new SqlLexError(
    quote === "'" ? "unterminated quoted string" : "unterminated quoted identifier",
    line,
  );
}
