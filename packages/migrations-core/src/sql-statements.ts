/**
 * A lexer for PostgreSQL's SQL text that knows exactly what can hide a semicolon: quoted strings
 * (standard and `E''` escape strings), quoted identifiers, dollar quotes, and line and nested
 * block comments — and, as psql does, parentheses and the `BEGIN … END` of a SQL-standard
 * function body (`CREATE [OR REPLACE] FUNCTION|PROCEDURE … BEGIN ATOMIC … END`, with the `CASE …
 * END`s inside it), whose inner semicolons end no statement. Used to run `transaction:false`
 * migrations one statement at a time (Postgres wraps a multi-statement query string in an
 * implicit transaction) and to reject files with an unterminated quote at load time instead of at
 * apply time.
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
/** The characters that can start a comment, a quote or a dollar quote, nest, or end a statement. */
const SPECIAL = /[-/;'"$()]/g;
/** How a statement that can hold a SQL-standard body begins (psql's test, on the first words). */
const ROUTINE_HEAD =
  /create\s+(?:or\s+replace\s+)?(?:function|procedure)(?![A-Za-z0-9_$\u0080-\uffff])/iy;
const WORD = /[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/g;
const NON_SPACE = /\S/g;

/**
 * Splits SQL into top-level statements; statements holding only comments are dropped.
 *
 * Runs of ordinary characters are skipped with native searches rather than walked one character
 * at a time: loading a directory of migrations lexes every file, and a deploy's no-op run pays
 * for it.
 */
export function splitSqlStatements(sql: string): SqlStatement[] {
  const statements: SqlStatement[] = [];
  const length = sql.length;
  // Line numbers are counted lazily, forwards from the last position asked about.
  let countedTo = 0;
  let countedLine = 1;
  const lineAt = (position: number): number => {
    if (position < countedTo) {
      countedTo = 0;
      countedLine = 1;
    }
    for (
      let k = sql.indexOf("\n", countedTo);
      k !== -1 && k < position;
      k = sql.indexOf("\n", k + 1)
    ) {
      countedLine++;
    }
    countedTo = position;
    return countedLine;
  };
  let start = 0;
  let startLine = 1;
  // Whether the current statement has anything but whitespace and comments.
  let substantive = false;
  // Open parentheses, and open BEGIN/CASE … END of a routine's body: a semicolon inside either
  // ends nothing.
  let parens = 0;
  let blocks = 0;
  // Whether the statement is CREATE [OR REPLACE] FUNCTION|PROCEDURE (known once it has begun).
  let routine = false;
  const begin = (position: number) => {
    substantive = true;
    start = position;
    startLine = lineAt(position);
    ROUTINE_HEAD.lastIndex = position;
    routine = ROUTINE_HEAD.test(sql);
  };
  const flush = (end: number) => {
    if (substantive) statements.push({ text: sql.slice(start, end).trim(), line: startLine });
    substantive = false;
    parens = 0;
    blocks = 0;
    routine = false;
  };
  /** Counts a routine's BEGIN, CASE and END in a run of plain text, as psql does. */
  const countBlocks = (from: number, to: number) => {
    WORD.lastIndex = from;
    for (let word = WORD.exec(sql); word !== null && word.index < to; word = WORD.exec(sql)) {
      const end = word.index + word[0].length;
      // A piece of a longer identifier (cut at a `$`, or at the end of the run) is no keyword.
      if (end > to) break;
      if (word.index > 0 && IDENTIFIER_CHAR.test(sql[word.index - 1] as string)) continue;
      if (end < length && IDENTIFIER_CHAR.test(sql[end] as string)) continue;
      const keyword = word[0].toLowerCase();
      if (keyword === "begin") blocks++;
      else if (keyword === "case" && blocks > 0) blocks++;
      else if (keyword === "end" && blocks > 0) blocks--;
    }
  };

  let i = 0;
  while (i < length) {
    SPECIAL.lastIndex = i;
    const special = SPECIAL.exec(sql);
    const next = special === null ? length : special.index;
    if (!substantive && next > i) {
      NON_SPACE.lastIndex = i;
      const first = NON_SPACE.exec(sql);
      if (first !== null && first.index < next) begin(first.index);
    }
    if (routine && parens === 0 && next > i) countBlocks(i, next);
    if (special === null) break;
    i = next;
    const ch = sql[i] as string;
    const after = sql[i + 1];
    if (ch === "-" && after === "-") {
      const end = sql.indexOf("\n", i);
      i = end === -1 ? length : end;
      continue;
    }
    if (ch === "/" && after === "*") {
      let depth = 1;
      let k = i + 2;
      while (depth > 0) {
        const open = sql.indexOf("/*", k);
        const close = sql.indexOf("*/", k);
        if (close === -1) throw new SqlLexError("unterminated /* comment", lineAt(i));
        if (open !== -1 && open < close) {
          depth++;
          k = open + 2;
        } else {
          depth--;
          k = close + 2;
        }
      }
      i = k;
      continue;
    }
    if (ch === ";" && parens === 0 && blocks === 0) {
      flush(i);
      i++;
      continue;
    }
    if (!substantive) begin(i);
    if (ch === "(" || ch === ")" || ch === ";") {
      if (ch === "(") parens++;
      else if (ch === ")" && parens > 0) parens--;
      i++;
      continue;
    }
    if (ch === "'") {
      const prev = sql[i - 1];
      const escapes =
        (prev === "E" || prev === "e") && (i < 2 || !IDENTIFIER_CHAR.test(sql[i - 2] as string));
      i = endOfQuoted(sql, i, "'", escapes, lineAt);
      continue;
    }
    if (ch === '"') {
      i = endOfQuoted(sql, i, '"', false, lineAt);
      continue;
    }
    if (ch === "$" && (i === 0 || !IDENTIFIER_CHAR.test(sql[i - 1] as string))) {
      DOLLAR_TAG.lastIndex = i;
      const tag = DOLLAR_TAG.exec(sql)?.[0];
      if (tag) {
        const close = sql.indexOf(tag, i + tag.length);
        if (close === -1) {
          throw new SqlLexError(`unterminated dollar-quoted string ${tag}`, lineAt(i));
        }
        i = close + tag.length;
        continue;
      }
    }
    i++;
  }
  flush(length);
  return statements;
}

function endOfQuoted(
  sql: string,
  open: number,
  quote: "'" | '"',
  backslashEscapes: boolean,
  lineAt: (position: number) => number,
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
    lineAt(open),
  );
}
