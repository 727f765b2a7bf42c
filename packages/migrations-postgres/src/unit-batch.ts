import { Buffer } from "node:buffer";
import {
  type Bookkeeping,
  ChecksumDriftError,
  capMessage,
  type MigrationAction,
  type MigrationToRun,
  RollbackOrderError,
  resolutionOf,
  rollbackFailedMessage,
  rollbackStartedMessage,
  type SqlFailure,
  startedMessage,
} from "@studio/migrations-core";
import { attemptEvent } from "./attempt.ts";
import { interruptedEventSql } from "./interrupted-event.ts";
import { RESET_SESSION_SQL, RESET_SESSION_STATEMENTS } from "./session-reset.ts";
import { type Timeouts, timeoutSettings } from "./sql-failure.ts";
import { trackingSql as t } from "./tracking-sql.generated.ts";
import { INTERRUPTED_NOTED, inline, quoteLiteral, raw } from "./tracking-sql.ts";

/**
 * Every batch of SQL the executor sends that writes to the tracking tables — a unit of work (one
 * migration's SQL with its lock, its guards and its bookkeeping), a claim, a record — as ONE
 * transaction in one round trip: postgres-meta's `/query` takes it as one request, and a `pg`
 * connection as one simple-protocol query. Values are inlined (the extended protocol, which takes
 * parameters, refuses several statements); a migration's time is measured inside its batch.
 *
 * The queries come from `tracking-sql.generated.ts` (defined with Kysely in
 * `tracking-queries.ts`); what Kysely cannot say — the guards, refusing the change when the state
 * found under the lock does not allow it, with a private code of ours — is written here, and only
 * here.
 *
 * No PL/pgSQL runs in a migration's path (its guards are plain selects, {@link guard}): a backend
 * loads PL/pgSQL the first time it runs a `DO` block, and postgres-meta gives every request a new
 * backend, so every migration would pay that load — ≈ 10 ms on a busy machine, more than all the
 * rest the engine adds. Only the bookkeeping without SQL (`recordChangesBatch`) still checks in a
 * `DO` block.
 */

// Codes of our own, raised by the guards (see `guard`).
export const ALREADY_APPLIED = "SMAAP";
export const NOT_APPLIED = "SMNAP";
/** The row is in another state than the change expects; the message says which, the detail names it. */
export const STATE_CONFLICT = "SMCON";
/** The attempt was given up on, and recorded failed, before its request reached the database. */
export const ATTEMPT_REVOKED = "SMREV";
/** Another applier has started the migration (a `transaction:false` one) and not finished it. */
export const IN_PROGRESS = "SMINP";
/** A migration applied after the one to roll back is still applied; the message names it. */
export const ROLLBACK_ORDER = "SMORD";
/** The migration's file no longer matches the checksum recorded when it was applied. */
export const DRIFTED = "SMDRF";
/**
 * Recording a failure found the change made after all — the answer was lost after the commit, or
 * a batch still running when the failure was assumed committed before the record took the lock.
 */
export const DONE_AFTER_ALL = "SMDON";
/** The bookkeeping after a migration's SQL failed (the batch was rolled back): not the migration's fault as such. */
export const BOOKKEEPING_FAILED = "SMBKP";

/**
 * Milliseconds since the unit's transaction began, computed inside the batch. It reads no setting
 * a migration could have changed or reset (`RESET ALL`): `now()` is the transaction's start.
 */
export const ELAPSED_MS =
  "(extract(epoch from pg_catalog.clock_timestamp() - pg_catalog.now()) * 1000)::int";

export function batch(...statements: string[]): string {
  return statements.join(";\n");
}

/** A `DO` block of `body`, its dollar-quote tag chosen so that it cannot occur in the body. */
function doBlock(body: string, name = "guard"): string {
  let tag = `$${name}$`;
  for (let i = 0; body.includes(tag); i++) tag = `$${name}${i}$`;
  return `do ${tag} ${body} ${tag}`;
}

/** A PL/pgSQL statement raising `code` (with `message`, SQL, if given) when `condition` holds. */
function raiseIf(condition: string, code: string, message?: string): string {
  return `if ${condition} then raise sqlstate '${code}'${message === undefined ? "" : ` using message = ${message}`}; end if;`;
}

/**
 * One case of a {@link guard}: when `when` holds, the guard refuses with `code` — carrying
 * `detail` (SQL text, never null where `when` holds: e.g. the migration that must be rolled back
 * first), if given.
 */
interface GuardCase {
  readonly when: string;
  readonly code: string;
  readonly detail?: string;
}

/**
 * A guard as one plain `select` from `from`: it refuses with the code of the first case that
 * holds by failing to cast that code to an integer — SQLSTATE 22P02, whose message quotes the
 * value it could not read, in whatever language the server speaks; the detail travels with it,
 * hex-encoded. {@link raisedGuard} reads both back. A cast rather than PL/pgSQL's `raise`: see
 * the top of this file.
 */
function guard(from: string, cases: readonly GuardCase[]): string {
  const refusals = cases
    .map(
      ({ when, code, detail }) =>
        `when ${when} then '${code}'${detail === undefined ? "" : ` || pg_catalog.encode(pg_catalog.convert_to(${detail}, 'UTF8'), 'hex')`}`,
    )
    .join(" ");
  return `select (case ${refusals} end)::int from ${from}`;
}

/** The codes a {@link guard} refuses with. */
const GUARD_CODES: ReadonlySet<string> = new Set([
  ALREADY_APPLIED,
  NOT_APPLIED,
  STATE_CONFLICT,
  ATTEMPT_REVOKED,
  IN_PROGRESS,
  ROLLBACK_ORDER,
  DRIFTED,
  DONE_AFTER_ALL,
]);
const INVALID_TEXT_REPRESENTATION = "22P02";
/** The value a guard could not cast, as any translation of the message quotes it. */
const GUARD_VALUE = /(?<![0-9A-Za-z])(SM[A-Z]{3})([0-9a-f]*)(?![0-9A-Za-z])/;

/**
 * A guard's refusal, as its code and (decoded) detail for a message; null for any other failure.
 * Only for a batch whose every statement is the engine's own; a unit that runs a migration's SQL
 * asks {@link unitRefusal}, which also checks where the failure happened.
 */
export function raisedGuard(failure: SqlFailure): SqlFailure | null {
  if (failure.code !== INVALID_TEXT_REPRESENTATION) return null;
  const found = GUARD_VALUE.exec(failure.message);
  if (found === null || !GUARD_CODES.has(found[1] ?? "")) return null;
  return {
    message: Buffer.from(found[2] ?? "", "hex").toString("utf8"),
    code: found[1] ?? null,
    detail: null,
    hint: null,
    position: null,
  };
}

/** A unit's batch, and where the migration's own SQL sits in it (to map error positions back). */
export interface UnitBatch {
  readonly sql: string;
  /** Characters before the migration's SQL. */
  readonly sqlStart: number;
  /** The migration's SQL, in characters (code points, as Postgres counts them). */
  readonly sqlLength: number;
  /**
   * The statements after the migration's SQL — the session reset's, then the bookkeeping's — by
   * their first word, which is how a command tag starts (`INSERT 0 1`), and how many of them are
   * the reset's: to tell a failure in the bookkeeping from the migration's.
   */
  readonly after: { readonly verbs: readonly string[]; readonly reset: number };
  /** How many statements come before the head's guard (the timeouts, the unit lock). */
  readonly guardAt: number;
}

/**
 * The migration's SQL as the database received it, read back inside the batch from
 * `current_query()` (the whole batch, as sent) rather than sent a second time as a literal:
 * `offset` is what the transport puts in front of the batch.
 */
function migrationSqlAsSent(sqlStart: number, sqlLength: number, offset: number): string {
  return `pg_catalog.substr(pg_catalog.current_query(), ${offset + sqlStart + 1}, ${sqlLength})`;
}

/**
 * `head`, the migration's SQL, then — whatever the SQL did to its session — the session reset
 * and `tail(sqlAsSent)`, the bookkeeping. An empty `;` after the SQL ends a last statement that
 * lacks one; a comment-only section leaves an empty statement, which Postgres skips.
 */
function unit(
  /** One statement apiece, the guard last. */
  head: string[],
  migrationSql: string,
  tail: (sqlAsSent: string) => string[],
  options: UnitOptions,
): UnitBatch {
  const prefix = `${batch(...head)};\n`;
  const sqlStart = codePoints(prefix);
  const sqlLength = codePoints(migrationSql);
  const recording = tail(migrationSqlAsSent(sqlStart, sqlLength, options.offset));
  return {
    sql: `${prefix}${migrationSql}\n;\n${batch(RESET_SESSION_SQL, ...recording)}`,
    sqlStart,
    sqlLength,
    after: {
      verbs: [...RESET_SESSION_STATEMENTS, ...recording].map(firstWord),
      reset: RESET_SESSION_STATEMENTS.length,
    },
    guardAt: head.length - 1,
  };
}

/** Characters as Postgres counts them: code points, a surrogate pair being one. */
function codePoints(text: string): number {
  let pairs = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        pairs++;
        i++;
      }
    }
  }
  return text.length - pairs;
}

/** A statement's or a command tag's first word, upper-cased: `INSERT` of `insert into …`. */
function firstWord(text: string): string {
  return (/^\s*([A-Za-z]+)/.exec(text)?.[1] ?? "").toUpperCase();
}

/**
 * What a failed event says when it gives up on attempt `attempt`: a request of that attempt that
 * reaches the database afterwards (held up in the network past the client's time-out) finds it,
 * and does not run.
 */
export function revokedAttemptMarker(attempt: string): string {
  return `[attempt ${attempt}]`;
}

/** What a unit's batch needs besides the migration: its attempt (if revocable) and the offset. */
export interface UnitOptions {
  /** The attempt's id, when a request can reach the database after it was given up on. */
  attempt?: string | undefined;
  /** Characters the transport puts before the batch. */
  offset: number;
}

/**
 * A unit's bookkeeping, after the migration's SQL and the session reset: {@link ATTEMPT_REVOKED}
 * if the attempt was given up on, `rows`, then `event` — the last statement, answering the
 * execution time it recorded.
 */
function recording(
  migration: MigrationToRun,
  action: MigrationAction,
  options: UnitOptions,
  rows: string[],
  event: Parameters<typeof t.insertEventAnsweringTime>[0],
): string[] {
  return [
    ...revokedCheck(migration, action, options.attempt),
    ...rows,
    inline(t.insertEventAnsweringTime(event)),
  ];
}

/**
 * A {@link guard} over the migration's row, which refuses nothing when there is no row. In a
 * unit, a guard is the head's last statement — what stands before the migration's SQL in
 * `pg_stat_activity`, which shows the first kilobyte of a query — so it is kept short: the name
 * is written once, the codes say the rest.
 */
function rowGuard(migration: MigrationToRun, cases: readonly GuardCase[]): string {
  return guard(
    `platform.schema_migrations where migration_name = ${quoteLiteral(migration.name)}`,
    cases,
  );
}

/**
 * {@link ATTEMPT_REVOKED} if `attempt` was given up on and recorded failed — a request of it held
 * up in the network, reaching the database late. A guard opening a unit's bookkeeping, after the
 * migration's SQL rather than in the head, to keep the head short: the unit cannot commit either
 * way.
 */
function revokedCheck(
  migration: MigrationToRun,
  action: MigrationAction,
  attempt?: string,
): string[] {
  if (attempt === undefined) return [];
  const revoked = t.selectAttemptRevoked({
    migrationName: migration.name,
    action,
    marker: revokedAttemptMarker(attempt),
  });
  return [guard("(select) o", [{ when: `exists (${inline(revoked)})`, code: ATTEMPT_REVOKED }])];
}

/**
 * What an apply must find under its lock: not applied ({@link ALREADY_APPLIED}), and not a
 * `transaction:false` attempt that failed or is unfinished ({@link STATE_CONFLICT}: part of it may
 * be in place, and only an operator's `resolve` may clear that — editing the file to drop
 * `transaction:false` does not).
 */
const APPLY_GUARDS: readonly GuardCase[] = [
  { when: "status = 'applied'", code: ALREADY_APPLIED },
  { when: "status = 'failed' and transactional is false", code: STATE_CONFLICT },
];

/**
 * What a rollback must find under its lock — a planner's earlier read may be stale, and over
 * postgres-meta no lock spans the read and the unit: the migration applied
 * ({@link NOT_APPLIED}); the newest applied migration — latest `applied_at`, then the highest
 * version, as the planner orders them — this one, or {@link ROLLBACK_ORDER} naming the one that
 * must go first; and its file unchanged since it was applied ({@link DRIFTED}).
 */
function rollbackGuard(migration: MigrationToRun): string {
  return guard(
    `(select) o left join platform.schema_migrations m on m.migration_name = ${quoteLiteral(migration.name)} left join lateral (select migration_name from platform.schema_migrations where status = 'applied' order by applied_at desc, pg_catalog.substring(migration_name, '^[0-9]+')::numeric desc nulls last, migration_name desc limit 1) w on true`,
    [
      { when: "m.status is distinct from 'applied'", code: NOT_APPLIED },
      {
        when: "w.migration_name <> m.migration_name",
        code: ROLLBACK_ORDER,
        detail: "w.migration_name",
      },
      { when: `m.checksum <> ${quoteLiteral(migration.checksum)}`, code: DRIFTED },
    ],
  );
}

/** A unit's head before its guard: the `SET LOCAL` timeouts and the unit lock, a statement apiece. */
function unitHead(timeouts: Timeouts): string[] {
  return [...timeoutSettings(timeouts, "local").split("; "), inline(t.lockUnit())];
}

/**
 * Applies a transactional migration: the `SET LOCAL` timeouts, the unit lock, the apply's guards
 * (and {@link ATTEMPT_REVOKED} if `attempt` was recorded given up on), the SQL, the `applied` row
 * and the event; the last statement answers `{ execution_time_ms }`.
 */
export function applyBatch(
  migration: MigrationToRun,
  actor: string,
  timeouts: Timeouts,
  options: UnitOptions,
): UnitBatch {
  const elapsed = raw(ELAPSED_MS);
  return unit(
    [...unitHead(timeouts), rowGuard(migration, APPLY_GUARDS)],
    migration.sql,
    (sqlAsSent) =>
      recording(
        migration,
        "apply",
        options,
        [
          inline(
            t.upsertApplied({
              migrationName: migration.name,
              actor,
              checksum: migration.checksum,
              executionTimeMs: elapsed,
              upSql: raw(sqlAsSent),
              transactional: true,
            }),
          ),
        ],
        attemptEvent(migration, "apply", "succeeded", actor, elapsed, null),
      ),
    options,
  );
}

/**
 * Rolls back a transactional migration: like {@link applyBatch}, with the rollback's guards, the
 * down SQL, and the row marked `rolled_back`; the last statement answers `{ execution_time_ms }`.
 */
export function rollbackBatch(
  migration: MigrationToRun,
  actor: string,
  timeouts: Timeouts,
  options: UnitOptions,
): UnitBatch {
  const elapsed = raw(ELAPSED_MS);
  return unit(
    [...unitHead(timeouts), rollbackGuard(migration)],
    migration.sql,
    () =>
      recording(
        migration,
        "rollback",
        options,
        [inline(t.markRolledBack({ migrationName: migration.name, actor }))],
        attemptEvent(migration, "rollback", "succeeded", actor, elapsed, null),
      ),
    options,
  );
}

/**
 * Claims a `transaction:false` up section, under the unit lock: the apply's guards, and
 * {@link IN_PROGRESS} (naming who) if another applier's attempt is started and not finished —
 * an applier that planned before another's claim (no run lock spans requests over
 * postgres-meta, and a run lock can be lost) must not run the statements a second time — then
 * the row marked started, which is the claim; the last statement answers `{ outcome: 'started' }`.
 */
export function applyClaimBatch(migration: MigrationToRun, actor: string): string {
  return batch(
    inline(t.lockUnit()),
    rowGuard(migration, [
      { when: "status = 'applied'", code: ALREADY_APPLIED },
      {
        when: "status = 'failed' and execution_time_ms is null",
        code: IN_PROGRESS,
        detail: "coalesce(applied_by, 'another applier')",
      },
      // A row an earlier version wrote does not say (null): the file's own setting goes.
      { when: "status = 'failed' and transactional is not true", code: STATE_CONFLICT },
    ]),
    inline(
      t.upsertFailed({
        migrationName: migration.name,
        actor,
        checksum: migration.checksum,
        executionTimeMs: null,
        errorMessage: startedMessage(actor),
        upSql: migration.sql,
        transactional: false,
      }),
    ),
    "select 'started' as outcome",
  );
}

/**
 * Claims a `transaction:false` down section, under the unit lock: the rollback's guards, then the
 * row marked started (the claim: a second rollback finds it not applied); the last statement
 * answers `{ outcome: 'started' }`.
 */
export function rollbackClaimBatch(migration: MigrationToRun, actor: string): string {
  return batch(
    inline(t.lockUnit()),
    rollbackGuard(migration),
    inline(
      t.markRollbackAttempt({
        migrationName: migration.name,
        errorMessage: rollbackStartedMessage(actor),
        executionTimeMs: null,
      }),
    ),
    "select 'started' as outcome",
  );
}

/** A `transaction:false` up section whose statements all ran: the row `applied`, the event. */
export function appliedBatch(
  migration: MigrationToRun,
  actor: string,
  executionTimeMs: number,
): string {
  return batch(
    inline(t.lockUnit()),
    inline(
      t.upsertApplied({
        migrationName: migration.name,
        actor,
        checksum: migration.checksum,
        executionTimeMs,
        upSql: migration.sql,
        transactional: false,
      }),
    ),
    inline(
      t.insertEvent(attemptEvent(migration, "apply", "succeeded", actor, executionTimeMs, null)),
    ),
    "select 'applied' as outcome",
  );
}

/** A `transaction:false` down section whose statements all ran: the row `rolled_back`, the event. */
export function rolledBackBatch(
  migration: MigrationToRun,
  actor: string,
  executionTimeMs: number,
): string {
  return batch(
    inline(t.lockUnit()),
    inline(t.markRolledBack({ migrationName: migration.name, actor })),
    inline(
      t.insertEvent(attemptEvent(migration, "rollback", "succeeded", actor, executionTimeMs, null)),
    ),
    "select 'rolled_back' as outcome",
  );
}

/**
 * Records a failed apply, its message capped (SPEC §3), under the unit lock — which waits for a
 * batch still running — unless the migration is applied after all ({@link DONE_AFTER_ALL}).
 * A transaction that rolled back left nothing of what it ran; statements run one by one may have
 * left part of theirs, so their SQL is kept.
 */
export function applyFailedBatch(
  migration: MigrationToRun,
  actor: string,
  executionTimeMs: number,
  failureMessage: string,
): string {
  const message = capMessage(failureMessage);
  return batch(
    inline(t.lockUnit()),
    rowGuard(migration, [{ when: "status = 'applied'", code: DONE_AFTER_ALL }]),
    inline(
      t.upsertFailed({
        migrationName: migration.name,
        actor,
        checksum: migration.checksum,
        executionTimeMs,
        errorMessage: message,
        upSql: migration.transactional ? null : migration.sql,
        transactional: migration.transactional,
      }),
    ),
    inline(
      t.insertEvent(attemptEvent(migration, "apply", "failed", actor, executionTimeMs, message)),
    ),
    "select 'failed' as outcome",
  );
}

/**
 * Records a failed rollback, like {@link applyFailedBatch}: unless the migration is rolled back
 * after all. Outside a transaction, the statements before the failing one stay done: the row says
 * so (`failed`, the down section's failure).
 */
export function rollbackFailedBatch(
  migration: MigrationToRun,
  actor: string,
  executionTimeMs: number,
  failureMessage: string,
): string {
  const message = capMessage(failureMessage);
  return batch(
    inline(t.lockUnit()),
    rowGuard(migration, [{ when: "status = 'rolled_back'", code: DONE_AFTER_ALL }]),
    ...(migration.transactional
      ? []
      : [
          inline(
            t.markRollbackAttempt({
              migrationName: migration.name,
              errorMessage: capMessage(rollbackFailedMessage(failureMessage)),
              executionTimeMs,
            }),
          ),
        ]),
    inline(
      t.insertEvent(attemptEvent(migration, "rollback", "failed", actor, executionTimeMs, message)),
    ),
    "select 'failed' as outcome",
  );
}

/**
 * Bookkeeping without SQL — baseline, adopt, resolve, a mark-only rollback — as one batch under
 * the unit lock: first one `DO` block checking that every change finds its row in one of the
 * states it expects — and never `running`, a started `transaction:false` attempt whose runner is
 * still working on it (a resolve would have it run twice) — raising {@link STATE_CONFLICT} with
 * the state found as its message and the migration's name as its detail; then, in order, each
 * row and its event. A note (adopt's) is capped like any message (SPEC §3). An interrupted
 * attempt's failed event (`record_interrupted`) expects nothing: its statement decides, under
 * the same lock, whether it is owed (see `interruptedEventSql`).
 */
export function recordChangesBatch(changes: readonly Bookkeeping[], actor: string): string {
  const checks = changes.flatMap((change) =>
    change.kind === "record_interrupted"
      ? []
      : [
          `s := coalesce((${inline(t.selectState({ migrationName: change.migrationName }))}), 'absent'); ${raiseIf(
            `s <> all (array[${change.expect.map(quoteLiteral).join(", ")}]::text[])`,
            STATE_CONFLICT,
            `s, detail = ${quoteLiteral(change.migrationName)}`,
          )}`,
        ],
  );
  return batch(
    inline(t.lockUnit()),
    ...(checks.length === 0 ? [] : [doBlock(`declare s text; begin ${checks.join(" ")} end`)]),
    ...changes.flatMap((change) => {
      if (change.kind === "record_interrupted") {
        return [interruptedEventSql(change.migrationName, change.action, actor)];
      }
      const { migrationName } = change;
      const checksum = change.kind === "mark_rolled_back" ? null : change.checksum;
      const row =
        change.kind === "mark_applied"
          ? t.upsertApplied({
              migrationName,
              actor,
              checksum: change.checksum,
              executionTimeMs: null,
              upSql: null,
              transactional: null,
            })
          : change.kind === "mark_rolled_back"
            ? t.markRolledBack({ migrationName, actor })
            : t.setChecksum({ migrationName, checksum: change.checksum });
      const note = change.kind === "mark_applied" ? (change.note ?? null) : null;
      return [
        inline(row),
        inline(
          t.insertEvent({
            migrationName,
            action: change.action,
            outcome: "succeeded",
            actor,
            executionTimeMs: null,
            errorMessage: note === null ? null : capMessage(note),
            checksum,
            resolution: resolutionOf(change),
          }),
        ),
      ];
    }),
    `select 'recorded' as outcome, pg_catalog.current_setting(${quoteLiteral(INTERRUPTED_NOTED)}, true) as interrupted`,
  );
}

/**
 * The failure as the migration's author sees it: a position inside the migration's SQL counted
 * from its start, not from the batch's; none when the error lies outside it (in the bookkeeping).
 * `offset` adds characters a transport put in front of the batch.
 */
export function withinMigration(
  failure: SqlFailure,
  unit: UnitBatch,
  offset = 0,
  completed?: readonly string[],
): SqlFailure {
  if (
    completed === undefined
      ? positionedAfterMigration(failure, unit, offset)
      : failedInBookkeeping(unit, completed)
  ) {
    return bookkeepingFailure({
      ...failure,
      detail: `SQLSTATE ${failure.code ?? "unknown"}${failure.detail ? `: ${failure.detail}` : ""}`,
    });
  }
  if (failure.position === null) return failure;
  const position = failure.position - offset - unit.sqlStart;
  return {
    ...failure,
    position: position >= 1 && position <= unit.sqlLength ? position : null,
  };
}

/**
 * Whether a unit with plain bookkeeping failed in it: the tags of what completed before the
 * failure end with the whole session reset (which follows the migration's SQL) and the
 * bookkeeping statements before the failing one. A migration's SQL could end with the very same
 * ten statements and then fail — its failure would then be worded as the bookkeeping's; nothing
 * else differs (either way the unit rolled back and the failure is recorded).
 */
function failedInBookkeeping(unit: UnitBatch, completed: readonly string[]): boolean {
  const { verbs, reset } = unit.after;
  // `done`: how many statements after the migration's SQL completed; the next one failed.
  for (let done = reset; done < verbs.length; done++) {
    if (completed.length < done) break;
    const tail = completed.slice(completed.length - done);
    if (tail.every((tag, i) => firstWord(tag) === verbs[i])) return true;
  }
  return false;
}

/**
 * Over a transport that does not say where a unit failed (postgres-meta answers with the error
 * alone): whether the error's position lies after the migration's SQL — in the bookkeeping, as
 * when a migration dropped or renamed a tracking table (`relation "platform.schema_migration_events"
 * does not exist`, found while the statement is parsed, with its position). An error raised
 * while a statement runs has no position, and is reported as it is, the migration's.
 */
function positionedAfterMigration(failure: SqlFailure, unit: UnitBatch, offset: number): boolean {
  return failure.position !== null && failure.position - offset - unit.sqlStart > unit.sqlLength;
}

/**
 * A unit's guard refused it (see {@link raisedGuard}) — provided, on a transport that says what
 * completed before the failure, that it failed where a guard stands: the head's last statement,
 * or the revoked-attempt check opening the bookkeeping. Elsewhere a migration's own failed cast of
 * one of our codes could not be told from a guard's, as its `raise sqlstate` of them could not
 * when the guards were `DO` blocks.
 */
export function unitRefusal(
  failure: SqlFailure,
  unit: UnitBatch,
  completed?: readonly string[],
): SqlFailure | null {
  const raised = raisedGuard(failure);
  if (raised === null || completed === undefined) return raised;
  const where =
    raised.code === ATTEMPT_REVOKED
      ? failedInBookkeeping(unit, completed)
      : completed.length === unit.guardAt;
  return where ? raised : null;
}

/**
 * The engine could not record a migration whose SQL ran — in the same transaction, so nothing
 * was applied. Said as what it is: the SQL did not fail; it changed something the bookkeeping
 * needs (the tracking tables, or the privileges on them).
 */
export function bookkeepingFailure(failure: SqlFailure): SqlFailure {
  return {
    message: `The migration's SQL ran, but recording it failed, so its transaction was rolled back and nothing was applied: ${failure.message}`,
    code: BOOKKEEPING_FAILED,
    detail: failure.detail,
    hint: "The SQL itself did not fail: it changes something the engine's bookkeeping needs (platform.schema_migrations, platform.schema_migration_events, or the connecting role's privileges on them). Change the migration so the tracking tables stay usable by the role the engine connects as.",
    position: null,
  };
}

/** A rollback's guard refused it: the refusal, as the core's error. */
export function rollbackRefusal(failure: SqlFailure, migrationName: string): Error | null {
  if (failure.code === ROLLBACK_ORDER)
    return new RollbackOrderError(migrationName, failure.message);
  if (failure.code === DRIFTED) return new ChecksumDriftError([migrationName]);
  return null;
}
