import { checksumOf } from "./checksum.ts";
import type { MigrationFileProblem } from "./errors.ts";
import { type Migration, migrationPrefix } from "./migration.ts";
import { MIGRATION_NAME_RULE } from "./rules.ts";
import { SqlLexError, type SqlStatement, splitSqlStatements } from "./sql-statements.ts";

/**
 * What parsing one file gives: the migration, or the error that keeps it from loading; and in
 * either case the warnings (non-blocking problems, e.g. a marker option dbmate ignores).
 */
export type ParseResult =
  | { ok: true; migration: Migration; warnings: MigrationFileProblem[] }
  | { ok: false; problem: MigrationFileProblem; warnings: MigrationFileProblem[] };

// dbmate's markers are `(?m)^--\s*migrate:up(\s*$|\s+\S+)` and the same for `migrate:down`, in
// Go's RE2, whose `\s` is exactly [\t\n\f\r ] (no \v, no Unicode spaces): restated with that class.

/** A marker as dbmate reads it, within one line; the match is the marker without its options. */
const MARKER = /^--[\t\f\r ]*migrate:(up|down)(?=[\t\f\r ]*$|[\t\f\r ]+[^\t\n\f\r ])/;
/**
 * dbmate's marker read across lines: its `\s*` after `--` runs on over line breaks, so `--` alone
 * on a line followed by a line `migrate:up` is a marker to dbmate. Tried (sticky) at a line start.
 */
const SPLIT_MARKER =
  /--[\t\n\f\r ]*migrate:(?:up|down)(?:[\t\n\f\r ]*(?=\n|$)|[\t\n\f\r ]+[^\t\n\f\r ])/y;
/** A line an author may have meant as a marker: refused unless it is one dbmate reads. */
const MARKER_LIKE = /^\s*-{2,}\s*migrate\s*:/i;
/** How dbmate splits a marker's options (Go's `\s+`). */
const OPTION_SEPARATOR = /[\t\n\f\r ]+/;

/**
 * Parses one migration in dbmate's format (SPEC §2). `source` names the file in every problem
 * reported; problems carry the 1-based line of the file they were found on.
 *
 * Sections are the file's text exactly as written — CRLF line endings are kept — between the
 * marker lines: the up section runs from the line after `-- migrate:up` (or the top of a file
 * without markers) to the line break before `-- migrate:down`; the down section from the line
 * after `-- migrate:down` to the end. Only the checksum normalises line endings.
 *
 * A marker counts only as dbmate reads it, at the very start of a line; any other line that looks
 * like one (indented, upper case, `--- migrate:down`, an unknown direction, a marker split over two
 * lines) is an error naming its line: dbmate would run it as SQL, or read it where this parser
 * would not, and either way the up and down SQL would not be what the author meant.
 */
export function parseMigration(name: string, text: string, source: string): ParseResult {
  const version = migrationPrefix(name);
  const warnings: MigrationFileProblem[] = [];
  const problem = (
    severity: MigrationFileProblem["severity"],
    message: string,
    line: number | null,
  ): MigrationFileProblem => ({
    file: source,
    line,
    message,
    severity,
    version,
    migrationName: version === null ? null : name,
  });
  const fail = (message: string, line: number | null = null): ParseResult => ({
    ok: false,
    problem: problem("error", message, line),
    warnings,
  });

  if (version === null) {
    return fail(`"${name}" is not a valid migration name: expected ${MIGRATION_NAME_RULE}`);
  }
  if (text.includes("\u0000")) return fail("is not SQL text (it contains NUL bytes)");
  // dbmate reads a byte-order mark as text before the marker, and refuses the file; so does this.
  if (text.startsWith("\ufeff")) {
    return fail(
      "starts with a UTF-8 byte-order mark, which dbmate reads as text before -- migrate:up and refuses: save the file as UTF-8 without a BOM",
      1,
    );
  }
  const body = text;
  if (body.trim() === "") return fail("is empty");
  const loneCarriageReturn = /\r(?!\n)/.exec(body);
  if (loneCarriageReturn !== null) {
    return fail(
      "has a carriage return that ends no CRLF line (old Mac line endings): PostgreSQL ends a -- comment there, dbmate does not; use LF or CRLF line endings",
      lineAt(body, loneCarriageReturn.index),
    );
  }

  const lines = body.split("\n");
  let upMarker: number | null = null;
  let downMarker: number | null = null;
  let transactional = true;
  let downTransactional = true;
  let lineStart = 0;
  for (const [index, line] of lines.entries()) {
    const lineNo = index + 1;
    const start = lineStart;
    lineStart += line.length + 1;
    // Most lines hold no "--" at all: one native search spares them every regex.
    if (!line.includes("--")) continue;
    const marker = line.startsWith("--") ? MARKER.exec(line) : null;
    if (marker === null) {
      if (line.startsWith("--")) {
        SPLIT_MARKER.lastIndex = start;
        if (SPLIT_MARKER.test(body)) {
          return fail(
            'dbmate reads a marker that starts on this line and goes on over the next: write "-- migrate:up" or "-- migrate:down" on one line',
            lineNo,
          );
        }
      }
      if (MARKER_LIKE.test(line)) return fail(notAMarker(line), lineNo);
      continue;
    }
    const direction = marker[1] as "up" | "down";
    const options = readOptions(line.slice(marker[0].length), direction);
    if (typeof options === "string") return fail(options, lineNo);
    for (const message of options.ignored) warnings.push(problem("warning", message, lineNo));
    if (direction === "up") {
      if (upMarker !== null) {
        return fail(
          `second "-- migrate:up" (the first is at line ${upMarker}): dbmate would run it as part of the up SQL`,
          lineNo,
        );
      }
      if (downMarker !== null) {
        return fail(
          `"-- migrate:up" after "-- migrate:down" (line ${downMarker}): the up section comes first`,
          lineNo,
        );
      }
      upMarker = lineNo;
      transactional = options.transactional;
    } else {
      if (downMarker !== null) {
        return fail(
          `second "-- migrate:down" (the first is at line ${downMarker}): dbmate would run it as part of the down SQL`,
          lineNo,
        );
      }
      downMarker = lineNo;
      downTransactional = options.transactional;
    }
  }

  // Marker lines are numbered from 1, so the section after a marker at line n starts at lines[n].
  const upStart = upMarker ?? 0;
  const upEnd = downMarker === null ? lines.length : downMarker - 1;
  if (upMarker !== null) {
    const stray = firstStatement(lines.slice(0, upMarker - 1).join("\n"));
    if (stray !== null) return fail(`SQL before "-- migrate:up" would never run`, stray);
  }
  const up = section(lines, upStart, upEnd);
  const down = downMarker === null ? null : section(lines, downMarker, lines.length);

  // Each section is lexed once: to reject an unterminated quote, and to see whether it has SQL.
  const upLexed = lexSection(up, upStart, transactional);
  if ("message" in upLexed) return fail(upLexed.message, upLexed.line);
  // An up section of comments only is a no-op migration, as in dbmate — but only under an
  // explicit "-- migrate:up" (dbmate refuses a file without one).
  if (upLexed.statements === 0 && upMarker === null) {
    return downMarker !== null
      ? fail(
          `has only a down section: add "-- migrate:up" and the up SQL above it (an up section without SQL is a no-op)`,
          downMarker,
        )
      : fail(
          `has no SQL, only comments: start it with "-- migrate:up" to make it a deliberate no-op migration`,
        );
  }
  let downSql: string | null = null;
  if (down !== null && downMarker !== null) {
    const downLexed = lexSection(down, downMarker, downTransactional);
    if ("message" in downLexed) return fail(downLexed.message, downLexed.line);
    // An empty down section means "no down": rollback must then be explicit (mark only).
    downSql = downLexed.statements === 0 ? null : down;
  }

  return {
    ok: true,
    migration: {
      name,
      prefix: version,
      up,
      upLine: upStart + 1,
      down: downSql,
      transactional,
      downTransactional,
      checksum: checksumOf(up),
      source,
    },
    warnings,
  };
}

/**
 * Lines `from` to `to` (exclusive) exactly as written. A section that a marker line follows ends
 * before the line break preceding the marker — `\n` or `\r\n` alike — so that a CRLF file's
 * section is its LF twin's with `\r\n` line endings, and their checksums agree.
 */
function section(lines: readonly string[], from: number, to: number): string {
  const text = lines.slice(from, to).join("\n");
  return to < lines.length && text.endsWith("\r") ? text.slice(0, -1) : text;
}

/**
 * A marker's options, as dbmate reads them: `key:value` pairs; `transaction:false` runs the section
 * outside a transaction, `transaction:true` inside (the last one wins, as in dbmate). Options
 * dbmate ignores (any other key, or no `key:value` shape) are returned as warnings. A
 * `transaction:` value other than true or false is refused: dbmate would run the section in a
 * transaction, which is surely not what its author meant.
 */
function readOptions(
  rest: string,
  direction: "up" | "down",
): { transactional: boolean; ignored: string[] } | string {
  let transactional = true;
  const ignored: string[] = [];
  for (const option of rest.split(OPTION_SEPARATOR).filter(Boolean)) {
    const pair = option.split(":");
    if (pair.length === 2 && pair[0] === "transaction") {
      if (pair[1] === "false") transactional = false;
      else if (pair[1] === "true") transactional = true;
      else {
        return `unknown option "${option}" on "-- migrate:${direction}": dbmate reads any value but false as true and runs the section in a transaction; write transaction:false or transaction:true`;
      }
    } else {
      ignored.push(
        `option "${shorten(option)}" on "-- migrate:${direction}" is ignored, as dbmate ignores it (only transaction:false and transaction:true have an effect)`,
      );
    }
  }
  return { transactional, ignored };
}

/** Why a marker-like line is no marker. */
function notAMarker(line: string): string {
  const shown = shorten(line.trim());
  if (/^\s/.test(line) && MARKER.test(line.trim())) {
    return `"${shown}" is indented: dbmate reads a marker only at the very start of a line and would run this as SQL; move it to the start of the line, or reword the comment`;
  }
  const direction = /^--[\t\f\r ]*migrate:([^\t\n\f\r ]*)/.exec(line)?.[1];
  if (direction !== undefined) {
    return `unknown marker "-- migrate:${shorten(direction)}": dbmate reads only "-- migrate:up" and "-- migrate:down" (options after a space), and would run this line as SQL`;
  }
  return `"${shown}" is not a marker dbmate reads ("-- migrate:up" or "-- migrate:down", lower case, at the very start of a line, options after a space); fix it, or reword the comment`;
}

function shorten(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The 1-based line of `text` that `position` is on. */
function lineAt(text: string, position: number): number {
  let line = 1;
  for (let k = text.indexOf("\n"); k !== -1 && k < position; k = text.indexOf("\n", k + 1)) line++;
  return line;
}

/** The 1-based line of the first real statement in `sql`, or null when it has none. */
function firstStatement(sql: string): number | null {
  try {
    return splitSqlStatements(sql)[0]?.line ?? null;
  } catch (error) {
    if (error instanceof SqlLexError) return error.line;
    throw error;
  }
}

/**
 * How many statements a section holds, or why it cannot run (with its line in the file): it does
 * not lex, or, in a section the engine wraps in a transaction, it controls transactions itself.
 */
function lexSection(
  sql: string,
  lineOffset: number,
  transactional: boolean,
): { statements: number } | { message: string; line: number } {
  let statements: SqlStatement[];
  try {
    statements = splitSqlStatements(sql);
  } catch (error) {
    if (error instanceof SqlLexError)
      return { message: error.message, line: error.line + lineOffset };
    throw error;
  }
  if (transactional) {
    for (const statement of statements) {
      const control = TRANSACTION_CONTROL.exec(statement.text)?.[0];
      if (control === undefined) continue;
      // A COMMIT inside would commit the engine's own transaction midway: the SQL before it and
      // the bookkeeping after it would no longer be atomic.
      return {
        message: `"${control.replace(/\s+/g, " ").toUpperCase()}" controls the transaction the engine runs this section in; remove it (the engine commits or rolls back), or mark the section transaction:false`,
        line: statement.line + lineOffset,
      };
    }
  }
  return { statements: statements.length };
}

/** Top-level statements that begin, end or hand off a transaction (SAVEPOINT and its kin do not). */
const TRANSACTION_CONTROL =
  /^(?:begin|start\s+transaction|commit|end|abort|rollback(?!\s+(?:work\s+|transaction\s+)?to\b)|prepare\s+transaction)\b/i;
