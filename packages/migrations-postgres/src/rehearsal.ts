import {
  ExecutorUnavailableError,
  type MigrationToRehearse,
  type RehearsedLock,
  type RehearsedMigration,
  type RehearsedStatement,
  type RehearseOutcome,
  type RehearseRequest,
  type RelationKind,
  type RelationSize,
  rehearsedStatementText,
  type SqlFailure,
  type TableLockMode,
} from "@studio/migrations-core";
import { capFailure } from "./attempt.ts";
import { refusalOf } from "./database-refusals.ts";
import { parseRelationSizes, relationSizesSql } from "./relation-sizes.ts";
import { RESET_SESSION_SQL } from "./session-reset.ts";
import { type Timeouts, timeoutSettings, toSqlFailure } from "./sql-failure.ts";
import { closesTransaction, leadingWords, opensTransaction } from "./statement-by-statement.ts";
import { quoteLiteral } from "./tracking-sql.ts";
import type { Answer, Row, Session, Transport } from "./transport.ts";

/**
 * A rehearsal (SPEC §9 "Rehearse") over any transport: the request's migrations run inside ONE
 * transaction, each starting from the session reset an applied migration starts from and under
 * the executor's `lock_timeout` / `statement_timeout` (or the request's), each statement timed by
 * the database's clock and followed by a read of the relation locks its backend holds
 * (`pg_locks` for `pg_backend_pid()`), then ROLLBACK — whatever happened. Nothing is recorded.
 *
 * Two shapes, as the transport's session allows:
 * - a persistent session (pg, PGlite): BEGIN, then each statement sent as itself — exactly the
 *   text an apply sends, at top level — with its timing and lock read in the same round trip;
 *   ROLLBACK at the end or at the first failure.
 * - no session (postgres-meta, one connection per request): everything in ONE request, which
 *   postgres-meta runs as one transaction and answers with its last result set. Each statement
 *   runs in a `DO` block of its own (so `statement_timeout`, which times a top-level statement,
 *   still bounds each statement alone) through `EXECUTE`, inside an exception block that catches
 *   its failure; what each did is kept in a transaction-local setting, read by the batch's last
 *   SELECT, just before its ROLLBACK: an answer comes back whether a statement failed or not.
 *
 * Locks are the relation locks (table lock modes) on the target's own relations: the catalogs',
 * TOAST tables' and temporary tables' are left out. Table locks are held to the end of the
 * transaction, so a statement's are those held after it and not before it; a failed statement's
 * are not known (its locks went with it). Relations a statement dropped (its own transient ones
 * too, as a table rewrite's) have no name left in the catalog to read: they are counted.
 *
 * What a rehearsal cannot hide: PostgreSQL counts rows written by a transaction that rolls back in
 * `pg_stat_user_tables` (`n_tup_ins`/`n_tup_upd`/`n_tup_del` and dead tuples), and sequences
 * advanced by `nextval` stay advanced. Schema and data are left as they were.
 */

/** Transaction-local settings the one-request shape keeps its findings in. */
const RESULTS = "studio_rehearsal.results";
const FAILED = "studio_rehearsal.failed";
const STARTED = "studio_rehearsal.started";

/**
 * The relation locks this backend holds on the target's own relations, as a JSON array of
 * `{oid, relation, kind, mode}` (`relation` and `kind` null for a relation dropped meanwhile).
 * Every name schema-qualified: a migration may have emptied the `search_path`.
 */
const HELD_LOCKS_SQL = `(select coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
    'oid', l.relation::pg_catalog.int8,
    'relation', case when c.oid is null then null else pg_catalog.format('%I.%I', n.nspname, c.relname) end,
    'kind', c.relkind::pg_catalog.text,
    'mode', l.mode) order by l.relation, l.mode), '[]'::pg_catalog.jsonb)
  from pg_catalog.pg_locks l
  left join pg_catalog.pg_class c on c.oid = l.relation
  left join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where l.locktype = 'relation' and l.granted and l.pid = pg_catalog.pg_backend_pid()
    and l.database = (select d.oid from pg_catalog.pg_database d where d.datname = pg_catalog.current_database())
    and (n.nspname is null or (n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
         and n.nspname !~ '^pg_(toast_)?temp_')))`;

/** The database's clock, in ms since the epoch, to the microsecond (numeric: no rounding). */
const NOW_MS = "(extract(epoch from pg_catalog.clock_timestamp()) * 1000)";

/**
 * What an executor built on `transport` answers for `Executor.readRelationSizes`: one read-only
 * statement (`relationSizesSql`), any transport, postgres-meta included.
 */
export async function readRelationSizesOver(
  transport: Transport,
  names: readonly string[],
): Promise<RelationSize[]> {
  if (names.length === 0) return [];
  const answer = await transport.query(relationSizesSql(names));
  if (answer.kind === "rows") return parseRelationSizes(answer.rows);
  throw unavailable(answer, "read the sizes of the relations the migrations touch");
}

/**
 * What an executor built on `transport` answers for `Executor.rehearse`, under `timeouts` (the
 * executor's own) unless the request gives its own.
 */
export async function rehearseOver(
  transport: Transport,
  request: RehearseRequest,
  timeouts: Timeouts,
): Promise<RehearseOutcome> {
  const limits: Timeouts = {
    ...timeouts,
    lockTimeoutMs: request.timeouts?.lockTimeoutMs ?? timeouts.lockTimeoutMs,
    statementTimeoutMs: request.timeouts?.statementTimeoutMs ?? timeouts.statementTimeoutMs,
  };
  return transport.session((session) =>
    session.persistent
      ? rehearseInSession(session, request.migrations, timeoutSettings(limits, "local"))
      : rehearseInOneRequest(session, request.migrations, limits),
  );
}

/**
 * The one-request shape as SQL text: BEGIN, the migrations' statements each in a `DO` block that
 * records its time, its new locks or its failure, one SELECT of the records, ROLLBACK. Sent as
 * one query (postgres-meta's `/query`, or any connection's simple protocol), it answers one row
 * whose `results` column {@link parseRehearsalBatch} reads. Statements from the first that would
 * end the transaction on are left out (see {@link transactionControl}).
 */
export function rehearsalBatch(
  migrations: readonly MigrationToRehearse[],
  timeouts: Pick<Timeouts, "lockTimeoutMs" | "statementTimeoutMs">,
): string {
  const settings = timeoutSettings({ ...timeouts, lockRetries: 0, lockRetryDelayMs: 0 }, "local");
  const parts: string[] = [
    "begin",
    `select pg_catalog.set_config(${quoteLiteral(RESULTS)}, '[]', true), pg_catalog.set_config(${quoteLiteral(FAILED)}, 'off', true)`,
  ];
  for (const [m, migration] of migrations.entries()) {
    parts.push(KEEPING_RESULTS_RESET, settings);
    for (const [s, statement] of migration.statements.entries()) {
      if (transactionControl(statement.sql) !== null) return finishBatch(parts);
      parts.push(statementBlock(m, s, statement.sql));
    }
  }
  return finishBatch(parts);
}

/**
 * The answer to {@link rehearsalBatch}, as the executor's outcome: its one row, read as pg, PGlite
 * or postgres-meta give it; a statement the batch left out (it would end the transaction) is the
 * failure, when nothing failed before it.
 */
export function parseRehearsalBatch(
  migrations: readonly MigrationToRehearse[],
  rows: readonly Row[],
): RehearseOutcome {
  const text = rows[0]?.results;
  const records = jsonValue(text, "the rehearsal's results");
  if (!Array.isArray(records)) {
    throw new ExecutorUnavailableError(
      `Could not read the rehearsal's results: expected a JSON array, got ${describe(text)}.`,
    );
  }
  const byStatement = new Map<string, Record<string, unknown>>();
  for (const record of records) {
    if (isRecord(record)) byStatement.set(`${record.m}:${record.s}`, record);
  }
  const builder = new OutcomeBuilder(migrations);
  for (const [m, migration] of migrations.entries()) {
    for (const [s, statement] of migration.statements.entries()) {
      if (builder.failed) break;
      const record = byStatement.get(`${m}:${s}`);
      if (record === undefined) {
        const refusal = transactionControl(statement.sql);
        if (refusal === null) {
          throw new ExecutorUnavailableError(
            `Could not read the rehearsal's results: nothing was recorded for statement ${s + 1} of ${migration.name}.`,
          );
        }
        builder.add(m, s, 0, [], refusal);
        break;
      }
      builder.add(m, s, numberOf(record.elapsed_ms), locksOf(record.locks), errorOf(record.error));
    }
  }
  return builder.outcome();
}

// The persistent shape ----------------------------------------------------------------------

async function rehearseInSession(
  session: Session,
  migrations: readonly MigrationToRehearse[],
  settings: string,
): Promise<RehearseOutcome> {
  const builder = new OutcomeBuilder(migrations);
  const begun = await session.run("begin");
  if (begun.kind !== "rows") throw unavailable(begun, "begin the rehearsal's transaction");
  try {
    let held: HeldLock[] = [];
    for (const [m, migration] of migrations.entries()) {
      if (builder.failed) break;
      // Each migration starts where an applied one does: a reset session, the limits set.
      const reset = await session.run(
        `${RESET_SESSION_SQL};\n${settings};\nselect ${HELD_LOCKS_SQL} as locks`,
      );
      if (reset.kind !== "rows") throw unavailable(reset, `rehearse ${migration.name}`);
      held = heldLocksOf(reset.rows[0]?.locks);
      for (const [s, statement] of migration.statements.entries()) {
        const refusal = transactionControl(statement.sql);
        if (refusal !== null) {
          builder.add(m, s, 0, [], refusal);
          break;
        }
        const prefix = `select pg_catalog.set_config(${quoteLiteral(STARTED)}, ${NOW_MS}::pg_catalog.text, true);\n`;
        const started = performance.now();
        // The statement as itself, at top level; a newline before the `;` ends a trailing comment.
        const answer = await session.run(
          `${prefix}${statement.sql}\n;\nselect ${NOW_MS} - pg_catalog.current_setting(${quoteLiteral(STARTED)})::pg_catalog.numeric as elapsed_ms, ${HELD_LOCKS_SQL} as locks`,
        );
        if (answer.kind === "sql") {
          const elapsed = Math.round((performance.now() - started) * 1000) / 1000;
          builder.add(m, s, elapsed, [], withinStatement(answer.failure, prefix, statement.sql));
          break;
        }
        if (answer.kind !== "rows") throw unavailable(answer, `rehearse ${migration.name}`);
        const row = answer.rows.at(-1);
        const after = heldLocksOf(row?.locks);
        builder.add(m, s, numberOf(row?.elapsed_ms), newLocks(held, after), null);
        held = after;
      }
    }
  } finally {
    // Whatever happened — a failure, an error thrown — nothing the rehearsal did stays.
    await session.run("rollback");
  }
  return builder.outcome();
}

// The one-request shape ---------------------------------------------------------------------

async function rehearseInOneRequest(
  session: Session,
  migrations: readonly MigrationToRehearse[],
  timeouts: Timeouts,
): Promise<RehearseOutcome> {
  const answer = await session.run(rehearsalBatch(migrations, timeouts));
  if (answer.kind !== "rows") throw unavailable(answer, "rehearse the migrations");
  return parseRehearsalBatch(migrations, answer.rows);
}

function finishBatch(parts: string[]): string {
  parts.push(`select pg_catalog.current_setting(${quoteLiteral(RESULTS)}) as results`, "rollback");
  return parts.join(";\n");
}

/**
 * The session reset every migration starts from, `RESET ALL` included — which would also clear
 * the settings the one-request shape keeps its findings in: those are carried across it.
 */
const KEEPING_RESULTS_RESET = RESET_SESSION_SQL.split(";\n")
  .map((statement) =>
    statement.trim().toLowerCase() === "reset all"
      ? `do $keep$ declare results text := pg_catalog.current_setting(${quoteLiteral(RESULTS)}); failed text := pg_catalog.current_setting(${quoteLiteral(FAILED)}); begin execute 'reset all'; perform pg_catalog.set_config(${quoteLiteral(RESULTS)}, results, true); perform pg_catalog.set_config(${quoteLiteral(FAILED)}, failed, true); end $keep$`
      : statement,
  )
  .join(";\n");

/**
 * One statement's `DO` block: skipped once a statement failed; otherwise the locks held before,
 * the statement through EXECUTE in an exception block (a subtransaction: on success its locks
 * pass to the transaction; a failure, a lock or statement timeout included, is caught), then a
 * record of its time and new locks — or its error — appended to the results.
 */
function statementBlock(m: number, s: number, sql: string): string {
  const body = `declare
  before pg_catalog.jsonb;
  after pg_catalog.jsonb;
  started pg_catalog.numeric;
  failure pg_catalog.jsonb := null;
  v_state text; v_message text; v_detail text; v_hint text;
begin
  if pg_catalog.current_setting(${quoteLiteral(FAILED)}) = 'on' then return; end if;
  before := ${HELD_LOCKS_SQL};
  started := ${NOW_MS};
  begin
    execute ${quoteLiteral(sql)};
  exception when others or query_canceled then
    get stacked diagnostics v_state = returned_sqlstate, v_message = message_text,
      v_detail = pg_exception_detail, v_hint = pg_exception_hint;
    failure := pg_catalog.jsonb_build_object('code', v_state, 'message', v_message,
      'detail', nullif(v_detail, ''), 'hint', nullif(v_hint, ''));
  end;
  after := case when failure is null then ${HELD_LOCKS_SQL} else '[]'::pg_catalog.jsonb end;
  perform pg_catalog.set_config(${quoteLiteral(RESULTS)}, (pg_catalog.current_setting(${quoteLiteral(RESULTS)})::pg_catalog.jsonb
    || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
      'm', ${m}, 's', ${s},
      'elapsed_ms', ${NOW_MS} - started,
      'locks', (select coalesce(pg_catalog.jsonb_agg(a), '[]'::pg_catalog.jsonb)
                from pg_catalog.jsonb_array_elements(after) a
                where not exists (select from pg_catalog.jsonb_array_elements(before) b
                                  where b->'oid' = a->'oid' and b->'mode' = a->'mode')),
      'error', failure)))::pg_catalog.text, true);
  if failure is not null then
    perform pg_catalog.set_config(${quoteLiteral(FAILED)}, 'on', true);
  end if;
end`;
  return `do ${dollarQuote(body)}`;
}

/** `$tag$body$tag$` with a tag the body does not contain (the statement is inside it). */
function dollarQuote(body: string): string {
  let tag = "$rehearse$";
  for (let n = 1; body.includes(tag); n++) tag = `$rehearse_${n}$`;
  return `${tag}${body}${tag}`;
}

// Shared ------------------------------------------------------------------------------------

/**
 * A statement that would end (or open) the rehearsal's transaction, which a rehearsal must not
 * run: a COMMIT would make everything before it permanent. Answered as its failure, unrun. In an
 * apply it would end the migration's transaction midway (BEGIN only warns there).
 */
function transactionControl(sql: string): SqlFailure | null {
  const [first, second] = leadingWords(sql, 2);
  const ends = closesTransaction(sql) || (first === "prepare" && second === "transaction");
  if (!ends && !opensTransaction(sql)) return null;
  return {
    message: `Not run in the rehearsal: ${(first ?? "").toUpperCase()}${second === "transaction" ? " TRANSACTION" : ""} would ${ends ? "end" : "open"} the rehearsal's transaction (in an apply it would ${ends ? "end the migration's transaction midway" : "only warn, inside the migration's transaction"}). A transactional migration needs no transaction control of its own.`,
    code: null,
    detail: null,
    hint: "Remove the transaction control from the migration, or mark it -- migrate:up transaction:false.",
    position: null,
  };
}

interface HeldLock {
  oid: string;
  mode: string;
  /** null: a relation the catalog no longer has (the statement dropped it). */
  lock: (Omit<RehearsedLock, "relation"> & { relation: string | null }) | null;
}

/** The locks in `after` that are not in `before`, by relation and mode. */
function newLocks(before: readonly HeldLock[], after: readonly HeldLock[]): RehearsedLock[] {
  const held = new Set(before.map((lock) => `${lock.oid}:${lock.mode}`));
  return reported(after.filter((lock) => !held.has(`${lock.oid}:${lock.mode}`)));
}

/**
 * The locks as reported: relations the statement dropped — its own transient ones too (a table
 * rewrite's new heap and TOAST table) — have no name left to read, so they are one entry per
 * mode, counted, rather than a row of oids each.
 */
function reported(locks: readonly HeldLock[]): RehearsedLock[] {
  const named: RehearsedLock[] = [];
  const dropped = new Map<TableLockMode, number>();
  for (const { lock } of locks) {
    if (lock === null) continue;
    if (lock.relation !== null) named.push({ ...lock, relation: lock.relation });
    else dropped.set(lock.mode, (dropped.get(lock.mode) ?? 0) + 1);
  }
  for (const [mode, count] of dropped) {
    named.push({
      relation: `(${count} relation${count === 1 ? "" : "s"} dropped by the statement)`,
      kind: null,
      mode,
    });
  }
  return named;
}

function heldLocksOf(value: unknown): HeldLock[] {
  const entries = jsonValue(value, "the locks read");
  if (!Array.isArray(entries)) {
    throw new ExecutorUnavailableError(
      `Could not read the rehearsal's locks: expected a JSON array, got ${describe(value)}.`,
    );
  }
  return entries.flatMap((entry): HeldLock[] => {
    if (!isRecord(entry)) return [];
    const lock = lockOf(entry);
    return lock === null ? [] : [{ oid: String(entry.oid), mode: String(entry.mode), lock }];
  });
}

function locksOf(value: unknown): RehearsedLock[] {
  return reported(heldLocksOf(value));
}

const LOCK_MODES: Readonly<Record<string, TableLockMode>> = {
  AccessShareLock: "ACCESS SHARE",
  RowShareLock: "ROW SHARE",
  RowExclusiveLock: "ROW EXCLUSIVE",
  ShareUpdateExclusiveLock: "SHARE UPDATE EXCLUSIVE",
  ShareLock: "SHARE",
  ShareRowExclusiveLock: "SHARE ROW EXCLUSIVE",
  ExclusiveLock: "EXCLUSIVE",
  AccessExclusiveLock: "ACCESS EXCLUSIVE",
};

const KINDS: Readonly<Record<string, RelationKind>> = {
  r: "table",
  p: "partitioned table",
  i: "index",
  I: "partitioned index",
  v: "view",
  m: "materialized view",
  S: "sequence",
  f: "foreign table",
  t: "toast table",
  c: "composite type",
};

function lockOf(entry: Record<string, unknown>): HeldLock["lock"] {
  const mode = LOCK_MODES[String(entry.mode)];
  // A relation lock is always one of the table modes; anything else is not one to report.
  if (mode === undefined) return null;
  const relation = typeof entry.relation === "string" ? entry.relation : null;
  const kind = typeof entry.kind === "string" ? (KINDS[entry.kind] ?? null) : null;
  return { relation, kind, mode };
}

function errorOf(value: unknown): SqlFailure | null {
  if (value === null || value === undefined) return null;
  if (!isRecord(value)) return capFailure(toSqlFailure(value));
  return capFailure({
    message: typeof value.message === "string" ? value.message : "the statement failed",
    code: typeof value.code === "string" && /^[0-9A-Z]{5}$/.test(value.code) ? value.code : null,
    detail: typeof value.detail === "string" ? value.detail : null,
    hint: typeof value.hint === "string" ? value.hint : null,
    position: null,
  });
}

/** The failure with its position counted from the statement's start (null when outside it). */
function withinStatement(failure: SqlFailure, prefix: string, sql: string): SqlFailure {
  const position = failure.position === null ? null : failure.position - [...prefix].length;
  return capFailure({
    ...failure,
    position: position !== null && position >= 1 && position <= [...sql].length ? position : null,
  });
}

/** Collects the statements' records into the executor's answer, in the request's order. */
class OutcomeBuilder {
  private readonly statements: RehearsedStatement[][];
  private readonly reached: boolean[];
  failed = false;

  constructor(private readonly migrations: readonly MigrationToRehearse[]) {
    this.statements = migrations.map(() => []);
    this.reached = migrations.map(() => false);
  }

  add(
    m: number,
    s: number,
    elapsedMs: number,
    locks: RehearsedLock[],
    error: SqlFailure | null,
  ): void {
    const statement = this.migrations[m]?.statements[s];
    if (statement === undefined) return;
    this.reached[m] = true;
    (this.statements[m] as RehearsedStatement[]).push({
      index: s,
      line: statement.line,
      statement: rehearsedStatementText(statement.sql),
      elapsedMs: Math.round(elapsedMs * 1000) / 1000,
      locks,
      error,
    });
    if (error !== null) this.failed = true;
  }

  outcome(): RehearseOutcome {
    let failedSeen = false;
    const migrations = this.migrations.map((migration, m): RehearsedMigration => {
      const statements = this.statements[m] as RehearsedStatement[];
      // A migration with no statements is reached when nothing before it failed.
      if (
        failedSeen ||
        (!this.reached[m] && statements.length === 0 && migration.statements.length > 0)
      ) {
        return {
          migrationName: migration.name,
          status: "not_reached",
          elapsedMs: null,
          statements: [],
        };
      }
      const failed = statements.some((statement) => statement.error !== null);
      if (failed) failedSeen = true;
      return {
        migrationName: migration.name,
        status: failed ? "failed" : "rehearsed",
        elapsedMs:
          Math.round(statements.reduce((sum, statement) => sum + statement.elapsedMs, 0) * 1000) /
          1000,
        statements,
      };
    });
    return { migrations };
  }
}

/** A transport's answer that is not rows, as the error an executor throws. */
function unavailable(answer: Exclude<Answer, { kind: "rows" }>, doing: string): Error {
  if (answer.kind === "sql") {
    const refused = refusalOf(answer.failure, doing, { trackingTables: false });
    if (refused !== null) return refused;
    return new ExecutorUnavailableError(`Could not ${doing}: ${answer.failure.message}`, {
      hint:
        answer.failure.hint ??
        "Nothing was changed: a rehearsal's transaction is rolled back whatever happens.",
    });
  }
  return new ExecutorUnavailableError(`Could not ${doing}: ${answer.reason}.`, {
    hint: "Nothing was changed: a rehearsal's transaction is rolled back whatever happens (and by the server when the connection is lost).",
  });
}

function numberOf(value: unknown): number {
  const number = typeof value === "number" ? value : Number(value);
  if (!Number.isFinite(number)) {
    throw new ExecutorUnavailableError(
      `Could not read the rehearsal's timing: expected a number, got ${describe(value)}.`,
    );
  }
  return number;
}

function jsonValue(value: unknown, what: string): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    throw new ExecutorUnavailableError(`Could not read ${what}: not JSON (${describe(value)}).`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (typeof value === "string") return JSON.stringify(value.slice(0, 80));
  if (value === null) return "null";
  return Array.isArray(value) ? "an array" : typeof value;
}
