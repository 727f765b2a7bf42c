import { SqlLexError, splitSqlStatements } from "@studio/migrations-core";
import { type Node, type ParseResult, SqlError } from "libpg-query";
import { SourceText } from "./source-text.ts";

/** One top-level statement of an up section, as PostgreSQL's parser read it. */
export interface ParsedStatement {
  readonly node: Node;
  /** The text its parser positions (UTF-8 byte offsets) are relative to. */
  readonly source: SourceText;
  /** The file's 1-based line on which the statement's first token is. */
  readonly line: number;
  /** The statement as written, without its semicolon. */
  readonly text: string;
}

/** A statement the parser refused. */
export interface StatementSyntaxError {
  readonly line: number;
  readonly text: string;
  readonly message: string;
}

export interface ParsedSection {
  readonly statements: readonly ParsedStatement[];
  readonly errors: readonly StatementSyntaxError[];
}

export type Parse = (sql: string) => ParseResult;

/**
 * The statements of `sql` (a section starting on the file's line `firstLine`), parsed whole. When
 * the parser refuses the section, it is split as the engine splits it and each statement is parsed
 * on its own, so that one bad statement is reported at its line and the others are still linted.
 */
export function parseSection(parse: Parse, sql: string, firstLine: number): ParsedSection {
  const whole = new SourceText(sql, firstLine);
  try {
    return { statements: statementsOf(parse(sql), whole), errors: [] };
  } catch (error) {
    if (!(error instanceof SqlError)) throw error;
  }
  let pieces: { text: string; line: number }[];
  try {
    pieces = splitSqlStatements(sql);
  } catch (error) {
    // The loader refuses such a file, so this is for a Migration built some other way.
    if (!(error instanceof SqlLexError)) throw error;
    return {
      statements: [],
      errors: [{ line: firstLine + error.line - 1, text: "", message: error.message }],
    };
  }
  const statements: ParsedStatement[] = [];
  const errors: StatementSyntaxError[] = [];
  for (const piece of pieces) {
    const source = new SourceText(piece.text, firstLine + piece.line - 1);
    try {
      statements.push(...statementsOf(parse(piece.text), source));
    } catch (error) {
      if (!(error instanceof SqlError)) throw error;
      const at = error.sqlDetails?.cursorPosition;
      errors.push({
        line: at === undefined ? source.firstLine : source.lineOf(source.charIndexOfCodePoint(at)),
        text: piece.text,
        message: error.message,
      });
    }
  }
  return { statements, errors };
}

function statementsOf(result: ParseResult, source: SourceText): ParsedStatement[] {
  const statements: ParsedStatement[] = [];
  for (const raw of result.stmts ?? []) {
    if (raw.stmt === undefined) continue;
    const from = source.charIndexOfByte(raw.stmt_location ?? 0);
    // stmt_len 0 means "to the end of the text".
    const to =
      raw.stmt_len === undefined || raw.stmt_len === 0
        ? source.text.length
        : source.charIndexOfByte((raw.stmt_location ?? 0) + raw.stmt_len);
    const start = source.skipSpaceAndComments(from);
    statements.push({
      node: raw.stmt,
      source,
      line: source.lineOf(start),
      text: source.text.slice(start, to).trim(),
    });
  }
  return statements;
}
