import {
  ChecksumDriftError,
  type MigrationToRun,
  RollbackOrderError,
  rollbackStartedMessage,
  type SqlFailure,
} from "@studio/migrations-core";
import { attemptEvent } from "./attempt.ts";
import { RESET_SESSION_SQL } from "./session-reset.ts";
import { type Timeouts, timeoutSettings } from "./sql-failure.ts";
import { inline, quoteLiteral, raw, trackingSql as t } from "./tracking-sql.ts";

/**
 * A unit of work — one migration's SQL with its lock, its applied-check and its bookkeeping — as
 * ONE batch of SQL text, run as one transaction in one round trip: postgres-meta's `/query` takes
 * it as one request, and a `pg` connection as one simple-protocol query. Values are inlined (the
 * extended protocol, which takes parameters, refuses several statements); the migration's time
 * is measured inside the batch; a guard raises a private SQLSTATE when there is nothing to do.
 */

// SQLSTATEs of our own, raised by the guards at the head of a batch.
export const ALREADY_APPLIED = "SMAAP";
export const NOT_APPLIED = "SMNAP";
export const ALREADY_ROLLED_BACK = "SMRBK";
export const STATE_CONFLICT = "SMCON";
/** The attempt was given up on, and recorded failed, before its request reached the database. */
export const ATTEMPT_REVOKED = "SMREV";
/** Another applier has started the migration (a `transaction:false` one) and not finished it. */
export const IN_PROGRESS = "SMINP";
/** A migration applied after the one to roll back is still applied; the message names it. */
export const ROLLBACK_ORDER = "SMORD";
/** The migration's file no longer matches the checksum recorded when it was applied. */
export const DRIFTED = "SMDRF";

/** A migration name's version without leading zeros, in SQL: versions order by its length, then it. */
const version = (name: string) => `pg_catalog.ltrim(pg_catalog.substring(${name}, '^[0-9]+'), '0')`;

/**
 * The applied migration recorded after `migrationName` — later `applied_at`, then the higher
 * version, as the planner orders them — if any: what must be rolled back first. Checked in the
 * unit itself, under its lock, so a rollback racing another applier's apply cannot undo a
 * migration a newer one rests on.
 */
function newerApplied(migrationName: string): string {
  const key = (row: string, direction = "") =>
    [
      `${row}.applied_at`,
      `pg_catalog.length(${version(`${row}.migration_name`)})`,
      version(`${row}.migration_name`),
      `${row}.migration_name`,
    ]
      .map((column) => `${column}${direction}`)
      .join(", ");
  return `select o.migration_name from platform.schema_migrations o, platform.schema_migrations me
     where me.migration_name = ${quoteLiteral(migrationName)} and o.status = 'applied'
       and o.migration_name <> me.migration_name and (${key("o")}) > (${key("me")})
     order by ${key("o", " desc")} limit 1`.replace(/\s+/g, " ");
}

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

/**
 * A `DO` block raising `code` when `condition` holds. The dollar-quote tag is chosen so that it
 * cannot occur in the body. `message` is a literal unless `messageIsSql`.
 */
export function guard(
  condition: string,
  code: string,
  message: string,
  messageIsSql = false,
): string {
  return guards([{ condition, code, message, messageIsSql }]);
}

/** One check of {@link guards}. */
export interface Check {
  condition: string;
  code: string;
  message: string;
  messageIsSql?: boolean;
}

/**
 * Several checks in one `DO` block, raising the first whose condition holds: fewer statements,
 * and a shorter head before a unit's migration SQL (`pg_stat_activity` shows 1 kB of a query).
 */
export function guards(checks: readonly Check[]): string {
  const body = `begin ${checks
    .map(
      (c) =>
        `if ${c.condition} then raise exception using errcode = '${c.code}', message = ${c.messageIsSql ? c.message : quoteLiteral(c.message)}; end if;`,
    )
    .join(" ")} end`;
  let tag = "$guard$";
  for (let i = 0; body.includes(tag); i++) tag = `$guard${i}$`;
  return `do ${tag} ${body} ${tag}`;
}

/**
 * `body` (statements) as one `DO` block that turns any error in it into {@link BOOKKEEPING_FAILED},
 * carrying the original message, so an error in the engine's own SQL is never taken for one in
 * the migration's.
 */
export function bookkeeping(body: string): string {
  const block = `begin ${body}; exception when others then raise exception using errcode = '${BOOKKEEPING_FAILED}', message = sqlerrm, detail = 'SQLSTATE ' || sqlstate; end`;
  let tag = "$bookkeeping$";
  for (let i = 0; block.includes(tag); i++) tag = `$bookkeeping${i}$`;
  return `do ${tag} ${block} ${tag}`;
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
 * What a failed apply event says when it gives up on attempt `attempt`: a request of that
 * attempt that reaches the database afterwards (held up in the network past the client's
 * time-out) finds it, and does not run.
 */
export function revokedAttemptMarker(attempt: string): string {
  return `[attempt ${attempt}]`;
}

/**
 * Applies a transactional migration: the `SET LOCAL` timeouts, the unit lock, a guard raising
 * {@link ALREADY_APPLIED} if it is recorded applied, another raising {@link ATTEMPT_REVOKED} if
 * `attempt` (when given) was recorded given up on, the SQL, the `applied` row and the event; the
 * last statement answers `{ outcome: 'applied', execution_time_ms }`.
 */
export function applyBatch(
  migration: MigrationToRun,
  actor: string,
  timeouts: Timeouts,
  options: { attempt?: string; offset: number },
): UnitBatch {
  const elapsed = raw(ELAPSED_MS);
  const { attempt, offset } = options;
  // One short DO block: a unit's head is what stands before the migration's SQL in
  // pg_stat_activity, which shows the first kilobyte of a query; messages are not needed, the
  // codes say it all.
  const name = quoteLiteral(migration.name);
  const revoked =
    attempt === undefined
      ? ""
      : `if c is null and exists (${inline(t.selectAttemptRevoked(migration.name, revokedAttemptMarker(attempt)))}) then c := '${ATTEMPT_REVOKED}'; end if; `;
  const head = `declare c text := (select case when status = 'applied' then '${ALREADY_APPLIED}' when status = 'failed' and transactional is false and execution_time_ms is not null then '${STATE_CONFLICT}' end from platform.schema_migrations where migration_name = ${name}); begin ${revoked}if c is not null then raise exception using errcode = c; end if; end`;
  let tag = "$guard$";
  for (let i = 0; head.includes(tag); i++) tag = `$guard${i}$`;
  return unit(
    [timeoutSettings(timeouts, "local"), inline(t.lockUnit()), `do ${tag} ${head} ${tag}`],
    migration.sql,
    (sqlAsSent) => [
      bookkeeping(
        batch(
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
    offset,
  );
}

/**
 * Rolls back a transactional migration: like {@link applyBatch}, with a guard raising
 * {@link NOT_APPLIED} unless it is recorded applied, the down SQL, and the row marked
 * `rolled_back`; the last statement answers `{ outcome: 'rolled_back', execution_time_ms }`.
 */
export function rollbackBatch(
  migration: MigrationToRun,
  actor: string,
  timeouts: Timeouts,
  options: { offset: number },
): UnitBatch {
  const elapsed = raw(ELAPSED_MS);
  return unit(
    [timeoutSettings(timeouts, "local"), inline(t.lockUnit()), ...rollbackGuards(migration)],
    migration.sql,
    () => [
      bookkeeping(
        batch(
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
 * Starts a `transaction:false` down section, in one transaction under the unit lock: the same
 * guards as {@link rollbackBatch} — {@link NOT_APPLIED}, {@link ROLLBACK_ORDER}, {@link DRIFTED} —
 * then the row marked started (the claim: a second rollback finds it not applied); the last
 * statement answers `{ outcome: 'started' }`.
 */
export function rollbackStartBatch(migration: MigrationToRun, actor: string): string {
  return batch(
    inline(t.lockUnit()),
    ...rollbackGuards(migration),
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

/** What a rollback must find under its lock: applied, nothing applied after it, not drifted. */
function rollbackGuards(migration: MigrationToRun): string[] {
  return [
    guard(
      `coalesce((${inline(t.selectStatus(migration.name))}), 'absent') <> 'applied'`,
      NOT_APPLIED,
      "not applied",
    ),
    guard(
      `exists (${newerApplied(migration.name)})`,
      ROLLBACK_ORDER,
      `(${newerApplied(migration.name)})`,
      true,
    ),
    guard(
      `exists (select from platform.schema_migrations where migration_name = ${quoteLiteral(migration.name)} and checksum is distinct from ${quoteLiteral(migration.checksum)} and checksum is not null)`,
      DRIFTED,
      "changed on disk since it was applied",
    ),
  ];
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

/**
 * Refuses to apply a migration whose last attempt failed outside a transaction — part of it may
 * be in place, and only an operator's `resolve` may clear that — with {@link STATE_CONFLICT}
 * saying `<name> is failed`. The planner refuses it too; this is the check under the lock, for an
 * applier that planned before the failure was recorded.
 */
export function partlyApplied(migrationName: string): Check {
  return {
    condition: `exists (select from platform.schema_migrations where migration_name = ${quoteLiteral(migrationName)} and status = 'failed' and transactional is false and execution_time_ms is not null)`,
    code: STATE_CONFLICT,
    message: `${migrationName} is failed`,
  };
}

/** A rollback unit's guard refused it: the refusal, as the core's error. */
export function rollbackRefusal(failure: SqlFailure, migrationName: string): Error | null {
  if (failure.code === ROLLBACK_ORDER)
    return new RollbackOrderError(migrationName, failure.message);
  if (failure.code === DRIFTED) return new ChecksumDriftError([migrationName]);
  return null;
}
