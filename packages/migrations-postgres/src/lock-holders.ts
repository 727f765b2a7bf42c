import type { SqlFailure } from "@studio/migrations-core";
import { isLockTimeout } from "./sql-failure.ts";
import { quoteLiteral } from "./tracking-sql.ts";
import type { Answer, Row } from "./transport.ts";

/**
 * A migration statement gave up on a lock (SQLSTATE 55P03) after its retries: the failure then
 * says so — how long it waited, how many times — and who holds locks on the relations its SQL
 * names right now, read with one query straight after the last attempt.
 */

/** A session holding a lock, granted, on a relation the migration's SQL names. */
export interface LockHolder {
  /** Schema-qualified, as `format('%I.%I')` writes it. */
  relation: string;
  /** `pg_locks.mode`, e.g. `AccessExclusiveLock`: the strongest this session holds on it. */
  mode: string;
  /** Null for a prepared transaction (`PREPARE TRANSACTION`), which has no session. */
  pid: number | null;
  user: string | null;
  applicationName: string | null;
  /** Null for a Unix-socket connection, or one this role may not see. */
  clientAddr: string | null;
  /** `pg_stat_activity.state`, e.g. `idle in transaction`; null when this role may not see it. */
  state: string | null;
  /** How long its transaction has been open. */
  transactionMs: number | null;
  /** The start of its current (or, when idle, its last) query, whitespace collapsed. */
  query: string | null;
}

/** What {@link readLockHolders} found: the holders, oldest transaction first, or why it could not. */
export type LockHolders =
  | {
      kind: "read";
      /** The first few, oldest transaction first. */
      holders: LockHolder[];
      /** How many there are in all. */
      total: number;
      /** `lock_timeout` as the reading connection has it: the database's own setting. */
      lockTimeout: string | null;
    }
  | { kind: "unreadable"; reason: string };

/** How many characters of a holder's query are kept. */
const QUERY_EXCERPT = 200;
/** The most holders read; a message names the first few (see {@link NAMED_HOLDERS}). */
const HOLDERS_READ = 20;
const NAMED_HOLDERS = 3;
/**
 * How much of the migration's SQL is searched for relation names. A migration loading data can be
 * megabytes, most of it values; its statements that take locks come first in practice, and the
 * query must stay within what a transport sends (postgres-meta takes 3 MB a request).
 */
export const SEARCHED_SQL_CHARS = 256 * 1024;

/** Relation lock modes, weakest first: the strongest a session holds is the one that blocks. */
const MODE_STRENGTH = [
  "AccessShareLock",
  "RowShareLock",
  "RowExclusiveLock",
  "ShareUpdateExclusiveLock",
  "ShareLock",
  "ShareRowExclusiveLock",
  "ExclusiveLock",
  "AccessExclusiveLock",
];

/**
 * The one query: relation locks other sessions hold (granted, in this database) on relations whose
 * name the migration's SQL contains, with what `pg_stat_activity` says about each holder.
 *
 * A heuristic, and said to be one: which lock the statement waited for is gone with the statement
 * (PostgreSQL does not say it in the error). The SQL is cut into words (letters, digits, `_`, `$`,
 * `.` and `"` — so `platform.users` and `"Users"` stay whole), quotes dropped and folded to lower
 * case; a relation matches when a word is its name, or its schema-qualified name. So a name found
 * in a comment or a string counts too, and a relation reached without being named (a partition, a
 * table a trigger writes) does not. The migration's SQL travels as a literal, never as SQL.
 */
export function lockHoldersSql(migrationSql: string): string {
  // NUL cannot be in a Postgres string, and cannot be in SQL that ran either.
  const searched = migrationSql.slice(0, SEARCHED_SQL_CHARS).replaceAll("\u0000", " ");
  const strength = MODE_STRENGTH.map((mode, index) => `when '${mode}' then ${index + 1}`).join(" ");
  return `with named (word) as (
  select distinct pg_catalog.replace(w, '"', '')
  from pg_catalog.regexp_split_to_table(pg_catalog.lower(${quoteLiteral(searched)}), '[^[:alnum:]_$."]+') as w
  where w <> ''
), held as (
  select l.pid,
    pg_catalog.format('%I.%I', n.nspname, c.relname) as relation,
    (pg_catalog.array_agg(l.mode order by case l.mode ${strength} else 0 end desc))[1] as mode
  from pg_catalog.pg_locks l
  join pg_catalog.pg_class c on c.oid = l.relation
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where l.locktype = 'relation' and l.granted
    and l.database = (select d.oid from pg_catalog.pg_database d where d.datname = pg_catalog.current_database())
    and l.pid is distinct from pg_catalog.pg_backend_pid()
    and exists (select from named
                where named.word in (pg_catalog.lower(c.relname), pg_catalog.lower(n.nspname) || '.' || pg_catalog.lower(c.relname)))
  group by l.pid, c.oid, n.nspname, c.relname
)
select h.relation, h.mode, h.pid, a.usename as user_name, a.application_name,
  pg_catalog.host(a.client_addr) as client_addr, a.state,
  pg_catalog.round(extract(epoch from (pg_catalog.clock_timestamp() - a.xact_start)) * 1000)::float8 as transaction_ms,
  pg_catalog.left(pg_catalog.regexp_replace(a.query, '[[:space:]]+', ' ', 'g'), ${QUERY_EXCERPT + 1}) as query,
  pg_catalog.count(*) over () as holders,
  pg_catalog.current_setting('lock_timeout') as lock_timeout
from held h
left join pg_catalog.pg_stat_activity a on a.pid = h.pid
order by a.xact_start nulls last, h.pid nulls last, h.relation
limit ${HOLDERS_READ}`;
}

/**
 * Who holds locks now on relations `migrationSql` names ({@link lockHoldersSql}), through `query`.
 * Never throws: a holder that cannot be read is a reason, which the failure then carries.
 */
export async function readLockHolders(
  query: (sql: string) => Promise<Answer>,
  migrationSql: string,
): Promise<LockHolders> {
  let answer: Answer;
  try {
    answer = await query(lockHoldersSql(migrationSql));
  } catch (error) {
    return { kind: "unreadable", reason: error instanceof Error ? error.message : String(error) };
  }
  switch (answer.kind) {
    case "rows": {
      const holders = answer.rows.map(toHolder);
      const first = answer.rows[0];
      return {
        kind: "read",
        holders,
        lockTimeout: first === undefined ? null : text(first.lock_timeout),
        total: first === undefined ? 0 : (number(first.holders) ?? holders.length),
      };
    }
    case "sql":
      return { kind: "unreadable", reason: answer.failure.message };
    default:
      return { kind: "unreadable", reason: answer.reason };
  }
}

/** How a lock timeout came about: the attempts made, and each one's `lock_timeout`. */
export interface LockTimeoutContext {
  /** Attempts made in all, the last included. */
  attempts: number;
  /**
   * The `lock_timeout` each attempt had, in ms; null when the engine did not set it — a statement
   * over a transport with no session, which runs with the database's own setting.
   */
  lockTimeoutMs: number | null;
}

/**
 * A lock timeout's failure (55P03), worded for an operator: how long it waited and how often, what
 * PostgreSQL said, and who holds locks on the relations it names (read through `query`; null to
 * not read them — a session inside a failed transaction of the migration's own, where another
 * connection would list that transaction's locks as a holder's). Any other failure is returned as
 * it is. The SQLSTATE, detail and position stay; the message is capped where it is recorded.
 */
export async function describeLockTimeout(
  query: ((sql: string) => Promise<Answer>) | null,
  migrationSql: string,
  failure: SqlFailure,
  context: LockTimeoutContext,
): Promise<SqlFailure> {
  if (!isLockTimeout(failure)) return failure;
  const found = query === null ? null : await readLockHolders(query, migrationSql);
  return { ...failure, message: lockTimeoutMessage(failure.message, context, found) };
}

/** The words of {@link describeLockTimeout}, from what was found. */
export function lockTimeoutMessage(
  postgresMessage: string,
  context: LockTimeoutContext,
  found: LockHolders | null,
): string {
  const attempts = Math.max(1, context.attempts);
  const tries = attempts === 1 ? "1 attempt" : `${attempts} attempts`;
  const each = attempts === 1 ? "" : " each";
  const said = sentence(postgresMessage);
  let headline: string;
  if (/^could not obtain lock on /.test(postgresMessage)) {
    // NOWAIT (or SKIP LOCKED's cousin, FOR UPDATE NOWAIT) in the migration's own SQL.
    headline = `Could not take a lock without waiting (NOWAIT; ${tries}) and gave up: ${said}`;
  } else if (context.lockTimeoutMs !== null && context.lockTimeoutMs > 0) {
    headline = `Waited ${formatDuration(attempts * context.lockTimeoutMs)} for a lock (${tries}, lock_timeout ${context.lockTimeoutMs} ms${each}) and gave up: ${said}`;
  } else {
    const setting = found?.kind === "read" ? found.lockTimeout : null;
    headline = `Waited for a lock (${tries}${setting === null ? "" : `, the database's lock_timeout of ${setting}${each}`}) and gave up: ${said}`;
  }
  if (found === null) return headline;
  if (found.kind === "unreadable") {
    return `${headline} Who holds it could not be read: ${sentence(found.reason)}`;
  }
  if (found.holders.length === 0) {
    return `${headline} No other session holds a lock on a relation this migration names now: the lock was released meanwhile, or it is on a relation the SQL does not name (a partition, or a table a trigger or a foreign key reaches).`;
  }
  const named = found.holders.slice(0, NAMED_HOLDERS).map(describeHolder);
  const more = Math.max(found.total, found.holders.length) - named.length;
  const rest =
    more > 0
      ? ` ${more} more lock${more === 1 ? "" : "s"} on these relations ${more === 1 ? "is" : "are"} held by other sessions (see pg_locks).`
      : "";
  return `${headline} ${named.join(" ")}${rest}`;
}

function describeHolder(holder: LockHolder): string {
  if (holder.pid === null) {
    return `${holder.relation} is held in ${holder.mode} by a prepared transaction (see pg_prepared_xacts; COMMIT PREPARED or ROLLBACK PREPARED ends it).`;
  }
  const facts = [
    holder.user,
    holder.applicationName,
    holder.clientAddr === null ? null : `from ${holder.clientAddr}`,
    holder.state ?? "its state not visible to this role (pg_read_all_stats shows it)",
    holder.transactionMs === null
      ? null
      : `transaction open for ${formatDuration(holder.transactionMs)}`,
  ].filter((fact): fact is string => fact !== null && fact !== "");
  const query =
    holder.query === null || holder.query === "" || holder.query === "<insufficient privilege>"
      ? ""
      : `: "${holder.query.length > QUERY_EXCERPT ? `${holder.query.slice(0, QUERY_EXCERPT)}…` : holder.query}"`;
  return `${holder.relation} is held in ${holder.mode} by pid ${holder.pid} (${facts.join(", ")})${query}.`;
}

/** `350 ms`, `5.0 s`, `2 min 13 s`, `3 h 5 min`. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1_000);
  if (seconds < 3_600) return `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  return `${Math.floor(seconds / 3_600)} h ${Math.floor((seconds % 3_600) / 60)} min`;
}

/** A message as a sentence: ending in a full stop unless it ends in punctuation already. */
function sentence(message: string): string {
  const trimmed = message.trim();
  return /[.!?…]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

/** A row as a holder, tolerant of how each transport hands values over (bigint as text on pg). */
function toHolder(row: Row): LockHolder {
  return {
    relation: text(row.relation) ?? "an unknown relation",
    mode: text(row.mode) ?? "an unknown mode",
    pid: number(row.pid),
    user: text(row.user_name),
    applicationName: text(row.application_name),
    clientAddr: text(row.client_addr),
    state: text(row.state),
    transactionMs: number(row.transaction_ms),
    query: text(row.query),
  };
}

function text(value: unknown): string | null {
  return typeof value === "string" && value !== "" ? value : null;
}

function number(value: unknown): number | null {
  const n = typeof value === "number" ? value : typeof value === "string" ? Number(value) : NaN;
  return Number.isFinite(n) ? n : null;
}
