/**
 * A lexer for PostgreSQL's SQL text that knows exactly what can hide a semicolon: quoted strings
 * (standard and `E''` escape strings), quoted identifiers, dollar quotes, and line and nested
 * block comments. Used to run `transaction:false` migrations one statement at a time (Postgres
 * wraps a multi-statement query string in an implicit transaction) and to reject files with an
 * unterminated quote at load time instead of at apply time.
 *
 * Not handled: SQL-standard function bodies (`BEGIN ATOMIC … END`), whose inner semicolons are at
 * top level. Put such functions in a transactional migration, which is sent whole.
 */

export interface SqlStatement {
  /** The statement's text without its terminating semicolon, trimmed. */
  readonly text: string;
  /** 1-based line where the statement starts. */
  readonly line: number;
}

export class SqlLexError extends Error {
  constructor(
    message: string,
    /** 1-based line where the unterminated token starts. */
    readonly line: number,
  ) {
    super(message);
    this.name = "SqlLexError";
  }
}

const DOLLAR_TAG = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;
const IDENTIFIER_CHAR = /[A-Za-z0-9_$\u0080-\uffff]/;

/** Splits SQL into top-level statements; statements holding only comments are dropped. */
export function splitSqlStatements(sql: string): SqlStatement[] {
  const statements: SqlStatement[] = [];
  let line = 1;
  let start = 0;
  let startLine = 1;
  // Whether the current statement has anything but whitespace and comments.
  let substantive = false;
  let i = 0;

  const advanceTo = (end: number) => {
    for (let k = i; k < end; k++) if (sql.charCodeAt(k) === 10) line++;
    i = end;
  };
  const flush = (end: number) => {
    if (substantive) statements.push({ text: sql.slice(start, end).trim(), line: startLine });
    substantive = false;
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
    if (ch === ";") {
      flush(i);
      i++;
      continue;
    }
    if (!substantive && !/\s/.test(ch)) {
      substantive = true;
      start = i;
      startLine = line;
    }
    if (ch === "'") {
      const prev = sql[i - 1];
      const escapes =
        (prev === "E" || prev === "e") && (i < 2 || !IDENTIFIER_CHAR.test(sql[i - 2] as string));
      advanceTo(endOfQuoted(sql, i, "'", escapes, line));
      continue;
    }
    if (ch === '"') {
      advanceTo(endOfQuoted(sql, i, '"', false, line));
      continue;
    }
    if (ch === "$" && (i === 0 || !IDENTIFIER_CHAR.test(sql[i - 1] as string))) {
      DOLLAR_TAG.lastIndex = i;
      const tag = DOLLAR_TAG.exec(sql)?.[0];
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

function endOfQuoted(
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
