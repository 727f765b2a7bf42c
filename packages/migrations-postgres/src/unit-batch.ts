import type { MigrationToRun, SqlFailure } from "@studio/migrations-core";
import { attemptEvent } from "./attempt.ts";
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

const STARTED_SETTING = "studio_migrations.started";
/** Milliseconds since the unit's SQL started, computed inside the batch. */
export const ELAPSED_MS = `(extract(epoch from clock_timestamp() - current_setting('${STARTED_SETTING}')::timestamptz) * 1000)::int`;

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
  const body = `begin if ${condition} then raise exception using errcode = '${code}', message = ${messageIsSql ? message : quoteLiteral(message)}; end if; end`;
  let tag = "$guard$";
  for (let i = 0; body.includes(tag); i++) tag = `$guard${i}$`;
  return `do ${tag} ${body} ${tag}`;
}

/** A unit's batch, and where the migration's own SQL sits in it (to map error positions back). */
export interface UnitBatch {
  readonly sql: string;
  /** Characters before the migration's SQL. */
  readonly sqlStart: number;
  /** The migration's SQL, in characters (code points, as Postgres counts them). */
  readonly sqlLength: number;
}

function unit(head: string[], migrationSql: string, tail: string[]): UnitBatch {
  const prefix = `${batch(...head)};\n`;
  return {
    sql: `${prefix}${migrationSql}\n;\n${batch(...tail)}`,
    sqlStart: [...prefix].length,
    sqlLength: [...migrationSql].length,
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
  attempt?: string,
): UnitBatch {
  const elapsed = raw(ELAPSED_MS);
  const revoked =
    attempt === undefined
      ? []
      : [
          guard(
            `exists (${inline(t.selectAttemptRevoked(migration.name, revokedAttemptMarker(attempt)))})`,
            ATTEMPT_REVOKED,
            "this attempt was given up on and recorded failed",
          ),
        ];
  return unit(
    [
      timeoutSettings(timeouts, "local"),
      inline(t.lockUnit()),
      guard(
        `(${inline(t.selectStatus(migration.name))}) = 'applied'`,
        ALREADY_APPLIED,
        "already applied",
      ),
      ...revoked,
      `select set_config('${STARTED_SETTING}', clock_timestamp()::text, true)`,
    ],
    migration.sql,
    [
      inline(
        t.upsertApplied({
          migrationName: migration.name,
          actor,
          checksum: migration.checksum,
          executionTimeMs: elapsed,
        }),
      ),
      inline(t.insertEvent(attemptEvent(migration, "apply", "succeeded", actor, elapsed, null))),
      `select 'applied' as outcome, ${ELAPSED_MS} as execution_time_ms`,
    ],
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
): UnitBatch {
  const elapsed = raw(ELAPSED_MS);
  return unit(
    [
      timeoutSettings(timeouts, "local"),
      inline(t.lockUnit()),
      guard(
        `coalesce((${inline(t.selectStatus(migration.name))}), 'absent') <> 'applied'`,
        NOT_APPLIED,
        "not applied",
      ),
      `select set_config('${STARTED_SETTING}', clock_timestamp()::text, true)`,
    ],
    migration.sql,
    [
      inline(t.markRolledBack({ migrationName: migration.name, actor })),
      inline(t.insertEvent(attemptEvent(migration, "rollback", "succeeded", actor, elapsed, null))),
      `select 'rolled_back' as outcome, ${ELAPSED_MS} as execution_time_ms`,
    ],
  );
}

/**
 * The failure as the migration's author sees it: a position inside the migration's SQL counted
 * from its start, not from the batch's; none when the error lies outside it (in the bookkeeping).
 * `offset` adds characters a transport put in front of the batch.
 */
export function withinMigration(failure: SqlFailure, unit: UnitBatch, offset = 0): SqlFailure {
  if (failure.position === null) return failure;
  const position = failure.position - offset - unit.sqlStart;
  return {
    ...failure,
    position: position >= 1 && position <= unit.sqlLength ? position : null,
  };
}
