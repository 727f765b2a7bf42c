import { checksumOf, normaliseLineEndings } from "./checksum.ts";
import type { MigrationFileProblem } from "./errors.ts";
import { isValidMigrationName, type Migration, migrationPrefix } from "./migration.ts";
import { SqlLexError, type SqlStatement, splitSqlStatements } from "./sql-statements.ts";

export type ParseResult =
  | { ok: true; migration: Migration }
  | { ok: false; problem: MigrationFileProblem };

// dbmate's markers: `-- migrate:up [option:value …]` and `-- migrate:down`.
const MARKER = /^--\s*migrate:(\S*)(.*)$/;

/**
 * Parses one migration in dbmate's format. `source` names the file in every problem reported;
 * problems carry the 1-based line they were found on.
 */
export function parseMigration(name: string, text: string, source: string): ParseResult {
  const fail = (message: string, line: number | null = null): ParseResult => ({
    ok: false,
    problem: { file: source, line, message },
  });

  if (!isValidMigrationName(name)) {
    return fail(
      `"${name}" is not a valid migration name: expected NNN_snake_case (digits, an underscore, then a-z, 0-9 and _)`,
    );
  }
  if (text.includes("\u0000")) return fail("is not SQL text (it contains NUL bytes)");
  const lines = normaliseLineEndings(text).split("\n");
  if (lines.every((l) => l.trim() === "")) return fail("is empty");

  let upMarker: number | null = null;
  let downMarker: number | null = null;
  let transactional = true;
  let downTransactional = true;
  for (const [index, raw] of lines.entries()) {
    // Only a line starting with "--" can be a marker; testing that first spares a regex per line.
    if (!raw.startsWith("--")) continue;
    const match = MARKER.exec(raw.trimEnd());
    if (!match) continue;
    const lineNo = index + 1;
    const [, direction, rest = ""] = match;
    if (direction === "up") {
      if (upMarker !== null)
        return fail(`second "-- migrate:up" (first at line ${upMarker})`, lineNo);
      if (downMarker !== null) return fail(`"-- migrate:up" after "-- migrate:down"`, lineNo);
      upMarker = lineNo;
      const options = parseOptions(rest);
      if (typeof options === "string") return fail(options, lineNo);
      transactional = options.transactional;
    } else if (direction === "down") {
      if (downMarker !== null) {
        return fail(`second "-- migrate:down" (first at line ${downMarker})`, lineNo);
      }
      downMarker = lineNo;
      const options = parseOptions(rest);
      if (typeof options === "string") return fail(options, lineNo);
      downTransactional = options.transactional;
    } else {
      return fail(
        `unknown marker "-- migrate:${direction}" (expected migrate:up or migrate:down)`,
        lineNo,
      );
    }
  }

  const upStart = upMarker ?? 0;
  const upEnd = downMarker === null ? lines.length : downMarker - 1;
  if (upMarker !== null) {
    const before = lines.slice(0, upMarker - 1).join("\n");
    const stray = firstStatement(before);
    if (stray !== null) return fail(`SQL before "-- migrate:up" would never run`, stray);
  }
  const up = lines.slice(upStart, upEnd).join("\n");
  const down = downMarker === null ? null : lines.slice(downMarker).join("\n");

  // Each section is lexed once: to reject an unterminated quote, and to see whether it has SQL.
  const upLexed = lexSection(up, upStart, transactional);
  if ("message" in upLexed) return fail(upLexed.message, upLexed.line);
  if (upLexed.statements === 0) {
    return fail(
      downMarker !== null && upMarker === null
        ? `has only a down section: add "-- migrate:up" and the up SQL`
        : "has an empty up section",
      upMarker ?? downMarker,
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
      prefix: migrationPrefix(name) as string,
      up,
      down: downSql,
      transactional,
      downTransactional,
      checksum: checksumOf(up),
      source,
    },
  };
}

/** A marker's options: dbmate's `transaction:false` (per section), or a message saying why not. */
function parseOptions(rest: string): { transactional: boolean } | string {
  let transactional = true;
  for (const option of rest.trim().split(/\s+/).filter(Boolean)) {
    if (option === "transaction:false") transactional = false;
    else if (option === "transaction:true") transactional = true;
    else return `unknown option "${option}" (only transaction:false is supported)`;
  }
  return { transactional };
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
