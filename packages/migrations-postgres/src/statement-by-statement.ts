import type { SqlFailure, SqlStatement } from "@studio/migrations-core";
import {
  DEFAULT_TIMEOUTS,
  isLockTimeout,
  retryDelayMs,
  sleep,
  type Timeouts,
} from "./sql-failure.ts";

/**
 * What running a `transaction:false` section one statement at a time needs to know about its
 * statements, the same over every transport: which ones build an index concurrently (a failure
 * there leaves an INVALID index behind, which a retry with `IF NOT EXISTS` would then take for the
 * finished one), and which open and close a transaction of the migration's own.
 */

/** The statement's first words, lower-case, past any comments before it. */
export function leadingWords(text: string, count = 3): string[] {
  let rest = text;
  for (;;) {
    rest = rest.trimStart();
    if (rest.startsWith("--")) {
      const end = rest.indexOf("\n");
      rest = end === -1 ? "" : rest.slice(end + 1);
    } else if (rest.startsWith("/*")) {
      rest = skipBlockComment(rest);
    } else break;
  }
  return (rest.match(/[A-Za-z_]+/g) ?? []).slice(0, count).map((w) => w.toLowerCase());
}

function skipBlockComment(text: string): string {
  let depth = 0;
  for (let i = 0; i < text.length - 1; i++) {
    if (text.startsWith("/*", i)) {
      depth++;
      i++;
    } else if (text.startsWith("*/", i)) {
      depth--;
      i++;
      if (depth === 0) return text.slice(i + 1);
    }
  }
  return "";
}

/** `CREATE [UNIQUE] INDEX CONCURRENTLY …` or `REINDEX … CONCURRENTLY …`. */
export function buildsIndexConcurrently(text: string): boolean {
  const [first] = leadingWords(text, 1);
  return (first === "create" || first === "reindex") && /\bconcurrently\b/i.test(text);
}

/** `BEGIN`, `START TRANSACTION`. */
export function opensTransaction(text: string): boolean {
  const [first, second] = leadingWords(text, 2);
  return first === "begin" || (first === "start" && second === "transaction");
}

/** `COMMIT`, `END`, `ROLLBACK` (not `ROLLBACK TO` a savepoint), `ABORT`. */
export function closesTransaction(text: string): boolean {
  const [first, second] = leadingWords(text, 2);
  if (first === "rollback")
    return !(second === "to" || /^rollback\s+(work|transaction)\s+to\b/i.test(text.trim()));
  return first === "commit" || first === "end" || first === "abort";
}

/**
 * A statement known to refuse a transaction block (SQLSTATE 25001): a concurrent index build or
 * drop (`CREATE`/`REINDEX`/`DROP … CONCURRENTLY`), `VACUUM`. Over postgres-meta it is sent alone
 * at once rather than first with the engine's time-outs in front of it, refused, and again.
 */
export function refusesTransactionBlock(text: string): boolean {
  if (buildsIndexConcurrently(text)) return true;
  const [first] = leadingWords(text, 1);
  return first === "vacuum" || (first === "drop" && /\bconcurrently\b/i.test(text));
}

/**
 * A statement that means something else inside a transaction block than alone: `LOCK`, `DECLARE`
 * (a cursor without hold), `SAVEPOINT`, `RELEASE`, `ROLLBACK TO` and `SET LOCAL` / `SET
 * TRANSACTION` / `SET CONSTRAINTS` fail or do nothing alone, and would succeed inside one. Over
 * postgres-meta such a statement is sent alone, without the engine's time-outs in front of it
 * (which would put it inside a block), so that it does what it does over pg.
 */
export function alteredByTransactionBlock(text: string): boolean {
  const [first, second] = leadingWords(text, 2);
  if (first === "lock" || first === "declare" || first === "savepoint" || first === "release") {
    return true;
  }
  if (first === "rollback") return !closesTransaction(text);
  return (
    first === "set" && (second === "local" || second === "transaction" || second === "constraints")
  );
}

/**
 * The INVALID indexes of the database, fully qualified and quoted (whatever the session's
 * `search_path`): taken before a concurrent build and after it fails, the difference is what the
 * failed build left.
 */
export const INVALID_INDEXES_SQL = `select pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) as name
  from pg_catalog.pg_index i
  join pg_catalog.pg_class c on c.oid = i.indexrelid
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
 where not i.indisvalid
 order by 1`;

function dropIndexSql(qualifiedName: string): string {
  return `drop index concurrently if exists ${qualifiedName}`;
}

/** What became of the INVALID indexes a failed concurrent build left. */
export interface LeftIndexes {
  dropped: string[];
  /** Still there: their `DROP INDEX CONCURRENTLY` could not get its lock in time. */
  remaining: string[];
}

/**
 * Drops each index, retrying a lock timeout as the statements are (a drop waits for the same
 * open transactions the build did).
 */
export async function dropLeftIndexes(
  names: readonly string[],
  drop: (sql: string) => Promise<SqlFailure | null>,
  timeouts: Pick<Timeouts, "lockRetries" | "lockRetryDelayMs">,
): Promise<LeftIndexes> {
  const result: LeftIndexes = { dropped: [], remaining: [] };
  for (const name of names) {
    for (let attempt = 0; ; attempt++) {
      const failure = await drop(dropIndexSql(name));
      if (failure === null) {
        result.dropped.push(name);
        break;
      }
      if (!isLockTimeout(failure) || attempt >= timeouts.lockRetries) {
        result.remaining.push(name);
        break;
      }
      await sleep(retryDelayMs({ ...DEFAULT_TIMEOUTS, ...timeouts }, attempt));
    }
  }
  return result;
}

/** The failure, saying which INVALID indexes its statement left, and which are gone. */
export function withLeftIndexes(failure: SqlFailure, left: LeftIndexes): SqlFailure {
  const notes = [
    ...(left.dropped.length > 0
      ? [`the INVALID index ${left.dropped.join(", ")} this statement left behind was dropped`]
      : []),
    ...(left.remaining.length > 0
      ? [
          `the INVALID index ${left.remaining.join(", ")} this statement left behind is still there (dropping it waited too long for a lock): drop it with DROP INDEX CONCURRENTLY before applying again`,
        ]
      : []),
  ];
  return notes.length === 0
    ? failure
    : { ...failure, message: `${failure.message} (${notes.join("; ")})` };
}

/** A section whose statements opened a transaction and none closed it: the engine rolled it back. */
export const LEFT_OPEN: SqlFailure = {
  message:
    "The migration opened a transaction (BEGIN) and did not end it (COMMIT): what it did in that transaction was rolled back.",
  code: null,
  detail: null,
  hint: "End the transaction the migration begins with COMMIT, or remove the BEGIN.",
  position: null,
};

/**
 * Groups the statements of a section so that a transaction the migration runs itself — `BEGIN`
 * … `COMMIT` — is one group: over a transport with no session across requests (postgres-meta) it
 * must travel as one batch to stay one transaction.
 */
export function groupByTransaction(statements: readonly SqlStatement[]): SqlStatement[][] {
  const groups: SqlStatement[][] = [];
  let open: SqlStatement[] | null = null;
  for (const statement of statements) {
    if (open) {
      open.push(statement);
      if (closesTransaction(statement.text)) {
        groups.push(open);
        open = null;
      }
    } else if (opensTransaction(statement.text)) {
      open = [statement];
    } else {
      groups.push([statement]);
    }
  }
  if (open) groups.push(open);
  return groups;
}
