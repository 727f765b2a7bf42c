import {
  type SqlFailure,
  SqlLexError,
  type SqlStatement,
  splitSqlStatements,
} from "@studio/migrations-core";
import { ScratchSqlError } from "./errors.ts";
import type { ScratchDatabase, ScratchSession } from "./scratch.ts";

/** Why a section did not run through, and where. */
export interface SectionRunFailure {
  readonly failure: SqlFailure;
  /** 1-based line of the section the failing statement (or Postgres' error position) is on. */
  readonly line: number | null;
}

/** A `transaction:false` section whose statements opened a transaction and never ended it. */
const LEFT_OPEN: SqlFailure = {
  message:
    "The section opened a transaction (BEGIN) and did not end it (COMMIT): what it did in that transaction was rolled back.",
  code: null,
  detail: null,
  hint: "End the transaction the section begins with COMMIT, or remove the BEGIN.",
  position: null,
};

/**
 * Runs one migration section the way the engine does, in a pristine session: a transactional
 * section as one transaction (`BEGIN`, the section's text as written, `COMMIT`), rolled back
 * when a statement fails; a `transaction:false` section statement by statement outside a
 * transaction, stopping at the first failure (a transaction the section opened itself is rolled
 * back then, and also when it never ends it). A section with no statement runs nothing.
 */
export async function runSection(
  database: ScratchDatabase,
  sql: string,
  transactional: boolean,
): Promise<SectionRunFailure | null> {
  let statements: SqlStatement[];
  try {
    statements = splitSqlStatements(sql);
  } catch (error) {
    if (!(error instanceof SqlLexError)) throw error;
    return {
      failure: { message: error.message, code: null, detail: null, hint: null, position: null },
      line: error.line,
    };
  }
  if (statements.length === 0) return null;
  return database.session((session) =>
    transactional ? inTransaction(session, sql) : oneByOne(session, statements),
  );
}

async function inTransaction(
  session: ScratchSession,
  sql: string,
): Promise<SectionRunFailure | null> {
  await session.run("begin");
  try {
    // The text goes as written, in one query, as the engine sends it: Postgres' error position
    // is then a position in the section itself.
    await session.run(sql);
    // A section may end the transaction itself (COMMIT); the engine's COMMIT then finds none.
    if (session.inTransaction()) await session.run("commit");
    return null;
  } catch (error) {
    if (!(error instanceof ScratchSqlError)) throw error;
    await rollback(session);
    return { failure: error.failure, line: lineAt(sql, 1, error.failure.position, null) };
  }
}

async function oneByOne(
  session: ScratchSession,
  statements: readonly SqlStatement[],
): Promise<SectionRunFailure | null> {
  for (const statement of statements) {
    try {
      await session.run(statement.text);
    } catch (error) {
      if (!(error instanceof ScratchSqlError)) throw error;
      await rollback(session);
      return {
        failure: error.failure,
        line: lineAt(statement.text, statement.line, error.failure.position, statement.line),
      };
    }
  }
  if (session.inTransaction()) {
    await rollback(session);
    return { failure: LEFT_OPEN, line: null };
  }
  return null;
}

async function rollback(session: ScratchSession): Promise<void> {
  if (session.inTransaction()) await session.run("rollback");
}

/**
 * The line of `text` (whose first line is line `firstLine` of the section) that Postgres'
 * 1-based character `position` falls on; `otherwise` when Postgres gave no position (an error
 * inside a function body or a DO block has none in the statement).
 */
function lineAt(
  text: string,
  firstLine: number,
  position: number | null,
  otherwise: number | null,
): number | null {
  if (position === null) return otherwise;
  let line = firstLine;
  const end = Math.min(position - 1, text.length);
  for (let i = text.indexOf("\n"); i !== -1 && i < end; i = text.indexOf("\n", i + 1)) line++;
  return line;
}
