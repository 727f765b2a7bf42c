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
import { capMessageSql } from "./message-cap-sql.ts";
import { RESET_SESSION_SQL } from "./session-reset.ts";
import { type Timeouts, timeoutSettings } from "./sql-failure.ts";
import { trackingSql as t } from "./tracking-sql.generated.ts";
import { inline, quoteLiteral, raw } from "./tracking-sql.ts";

/**
 * Every batch of SQL the executor sends that writes to the tracking tables — a unit of work (one
 * migration's SQL with its lock, its guards and its bookkeeping), a claim, a record — as ONE
 * transaction in one round trip: postgres-meta's `/query` takes it as one request, and a `pg`
 * connection as one simple-protocol query. Values are inlined (the extended protocol, which takes
 * parameters, refuses several statements); a migration's time is measured inside its batch.
 *
 * The queries come from `tracking-sql.generated.ts` (defined with Kysely in
 * `tracking-queries.ts`); what Kysely cannot say — the guards, `DO` blocks raising a private
 * SQLSTATE when the state found under the lock does not allow the change — is written here, and
 * only here.
 */

// SQLSTATEs of our own, raised by the guards.
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
 * `body` (statements) as one `DO` block that turns any error in it into {@link BOOKKEEPING_FAILED},
 * carrying the original message — capped (SPEC §3) before it travels — so an error in the
 * engine's own SQL is never taken for one in the migration's. {@link ATTEMPT_REVOKED} passes as
 * it is.
 */
export function bookkeeping(body: string): string {
  return doBlock(
    `declare m text; begin ${body}; exception when sqlstate '${ATTEMPT_REVOKED}' then raise; when others then m := sqlerrm; ${capMessageSql("m")} raise exception using errcode = '${BOOKKEEPING_FAILED}', message = m, detail = 'SQLSTATE ' || sqlstate; end`,
    "bookkeeping",
  );
}

/** A unit's batch, and where the migration's own SQL sits in it (to map error positions back). */
export interface UnitBatch {
  readonly sql: string;
  /** Characters before the migration's SQL. */
  readonly sqlStart: number;
  /** The migration's SQL, in characters (code points, as Postgres counts them). */
  readonly sqlLength: number;
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
  head: string[],
  migrationSql: string,
  tail: (sqlAsSent: string) => string[],
  offset: number,
): UnitBatch {
  const prefix = `${batch(...head)};\n`;
  const sqlStart = [...prefix].length;
  const sqlLength = [...migrationSql].length;
  return {
    sql: `${prefix}${migrationSql}\n;\n${batch(RESET_SESSION_SQL, ...tail(migrationSqlAsSent(sqlStart, sqlLength, offset)))}`,
    sqlStart,
    sqlLength,
  };
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
 * The guards of a batch, as one `DO` block: `checks` are PL/pgSQL statements over `n`, the
 * migration's name, and the variables `declare` adds. In a unit, this is the head — what stands
 * before the migration's SQL in `pg_stat_activity`, which shows the first kilobyte of a query —
 * so it is kept short: the name is written once, the codes say the rest.
 */
function guardBlock(migration: MigrationToRun, declare: string, checks: string[]): string {
  return doBlock(
    `declare n text := ${quoteLiteral(migration.name)}; ${declare} begin ${checks.join(" ")} end`,
  );
}

/**
 * {@link ATTEMPT_REVOKED} if `attempt` was given up on and recorded failed — a request of it held
 * up in the network, reaching the database late. A PL/pgSQL statement opening a unit's
 * bookkeeping, after the migration's SQL rather than in the head, to keep the head short: the
 * unit cannot commit either way.
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
  return [`if exists (${inline(revoked)}) then raise sqlstate '${ATTEMPT_REVOKED}'; end if`];
}

/**
 * What an apply must find under its lock: not applied ({@link ALREADY_APPLIED}), and not a
 * `transaction:false` attempt that failed or is unfinished ({@link STATE_CONFLICT}: part of it may
 * be in place, and only an operator's `resolve` may clear that — editing the file to drop
 * `transaction:false` does not).
 */
const APPLY_DECLARE = "s text; tr boolean;";
const APPLY_CHECKS = [
  "select status, transactional into s, tr from platform.schema_migrations where migration_name = n;",
  raiseIf("s = 'applied'", ALREADY_APPLIED),
  raiseIf("s = 'failed' and tr is false", STATE_CONFLICT),
];

/**
 * What a rollback must find under its lock — a planner's earlier read may be stale, and over
 * postgres-meta no lock spans the read and the unit: the migration applied
 * ({@link NOT_APPLIED}); the newest applied migration — latest `applied_at`, then the highest
 * version, as the planner orders them — this one, or {@link ROLLBACK_ORDER} naming the one that
 * must go first; and its file unchanged since it was applied ({@link DRIFTED}).
 */
const ROLLBACK_DECLARE = "s text; c text; w text;";
function rollbackChecks(migration: MigrationToRun): string[] {
  return [
    "select status, checksum into s, c from platform.schema_migrations where migration_name = n;",
    raiseIf("s is distinct from 'applied'", NOT_APPLIED),
    "select migration_name into w from platform.schema_migrations where status = 'applied' order by applied_at desc, pg_catalog.substring(migration_name, '^[0-9]+')::numeric desc nulls last, migration_name desc limit 1;",
    raiseIf("w <> n", ROLLBACK_ORDER, "w"),
    raiseIf(`c <> ${quoteLiteral(migration.checksum)}`, DRIFTED),
  ];
}

/**
 * Applies a transactional migration: the `SET LOCAL` timeouts, the unit lock, the apply's guards
 * (and {@link ATTEMPT_REVOKED} if `attempt` was recorded given up on), the SQL, the `applied` row
 * and the event; the last statement answers `{ outcome: 'applied', execution_time_ms }`.
 */
export function applyBatch(
  migration: MigrationToRun,
  actor: string,
  timeouts: Timeouts,
  options: UnitOptions,
): UnitBatch {
  const elapsed = raw(ELAPSED_MS);
  return unit(
    [
      timeoutSettings(timeouts, "local"),
      inline(t.lockUnit()),
      guardBlock(migration, APPLY_DECLARE, APPLY_CHECKS),
    ],
    migration.sql,
    (sqlAsSent) => [
      bookkeeping(
        batch(
          ...revokedCheck(migration, "apply", options.attempt),
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
          inline(
            t.insertEvent(attemptEvent(migration, "apply", "succeeded", actor, elapsed, null)),
          ),
        ),
      ),
      `select 'applied' as outcome, ${ELAPSED_MS} as execution_time_ms`,
    ],
    options.offset,
  );
}

/**
 * Rolls back a transactional migration: like {@link applyBatch}, with the rollback's guards, the
 * down SQL, and the row marked `rolled_back`; the last statement answers
 * `{ outcome: 'rolled_back', execution_time_ms }`.
 */
export function rollbackBatch(
  migration: MigrationToRun,
  actor: string,
  timeouts: Timeouts,
  options: UnitOptions,
): UnitBatch {
  const elapsed = raw(ELAPSED_MS);
  return unit(
    [
      timeoutSettings(timeouts, "local"),
      inline(t.lockUnit()),
      guardBlock(migration, ROLLBACK_DECLARE, rollbackChecks(migration)),
    ],
    migration.sql,
    () => [
      bookkeeping(
        batch(
          ...revokedCheck(migration, "rollback", options.attempt),
          inline(t.markRolledBack({ migrationName: migration.name, actor })),
          inline(
            t.insertEvent(attemptEvent(migration, "rollback", "succeeded", actor, elapsed, null)),
          ),
        ),
      ),
      `select 'rolled_back' as outcome, ${ELAPSED_MS} as execution_time_ms`,
    ],
    options.offset,
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
    guardBlock(migration, "s text; tr boolean; ms integer; who text;", [
      "select status, transactional, execution_time_ms, applied_by into s, tr, ms, who from platform.schema_migrations where migration_name = n;",
      raiseIf("s = 'applied'", ALREADY_APPLIED),
      raiseIf("s = 'failed' and ms is null", IN_PROGRESS, "coalesce(who, 'another applier')"),
      // A row an earlier version wrote does not say (null): the file's own setting goes.
      raiseIf("s = 'failed' and tr is not true", STATE_CONFLICT),
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
    guardBlock(migration, ROLLBACK_DECLARE, rollbackChecks(migration)),
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
    guardBlock(migration, "s text;", [
      "select status into s from platform.schema_migrations where migration_name = n;",
      raiseIf("s = 'applied'", DONE_AFTER_ALL),
    ]),
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
    guardBlock(migration, "s text;", [
      "select status into s from platform.schema_migrations where migration_name = n;",
      raiseIf("s = 'rolled_back'", DONE_AFTER_ALL),
    ]),
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
 * the state found as its message and the migration's name as its detail; then each row and its
 * event. A note (adopt's) is capped like any message (SPEC §3).
 */
export function recordChangesBatch(changes: readonly Bookkeeping[], actor: string): string {
  const checks = changes.map(
    ({ migrationName, expect }) =>
      `s := coalesce((${inline(t.selectState({ migrationName }))}), 'absent'); ${raiseIf(
        `s <> all (array[${expect.map(quoteLiteral).join(", ")}]::text[])`,
        STATE_CONFLICT,
        `s, detail = ${quoteLiteral(migrationName)}`,
      )}`,
  );
  return batch(
    inline(t.lockUnit()),
    doBlock(`declare s text; begin ${checks.join(" ")} end`),
    ...changes.flatMap((change) => {
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
    "select 'recorded' as outcome",
  );
}

/**
 * The failure as the migration's author sees it: a position inside the migration's SQL counted
 * from its start, not from the batch's; none when the error lies outside it (in the bookkeeping).
 * `offset` adds characters a transport put in front of the batch.
 */
export function withinMigration(failure: SqlFailure, unit: UnitBatch, offset = 0): SqlFailure {
  if (failure.code === BOOKKEEPING_FAILED) return bookkeepingFailure(failure);
  if (failure.position === null) return failure;
  const position = failure.position - offset - unit.sqlStart;
  return {
    ...failure,
    position: position >= 1 && position <= unit.sqlLength ? position : null,
  };
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
