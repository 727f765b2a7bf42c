import { createHash, randomUUID } from "node:crypto";
import {
  type ApplyOutcome,
  type ApplyRequest,
  type Bookkeeping,
  type EventQuery,
  type Executor,
  ExecutorUnavailableError,
  type ForeignHistorySource,
  type ForeignVersions,
  LockBusyError,
  type LockHandle,
  type LockOptions,
  type MigrationEvent,
  type MigrationRecord,
  type MigrationToRun,
  type RollbackOutcome,
  type RollbackRequest,
  rollbackFailedMessage,
  type SqlFailure,
  type SqlStatement,
  splitSqlStatements,
  startedMessage,
} from "@studio/migrations-core";
import { attemptEvent, elapsedSince, stateConflict } from "./attempt.ts";
import {
  refusalOf,
  TARGET_CHECK_SQL,
  type TargetCheckRow,
  targetRefusal,
} from "./database-refusals.ts";
import {
  isLockTimeout,
  retryDelayMs,
  sleep,
  type Timeouts,
  timeoutSettings,
  toSqlFailure,
} from "./sql-failure.ts";
import {
  buildsIndexConcurrently,
  closesTransaction,
  dropLeftIndexes,
  groupByTransaction,
  INVALID_INDEXES_SQL,
  LEFT_OPEN,
  opensTransaction,
  withLeftIndexes,
} from "./statement-by-statement.ts";
import type { SchemaMigrationEventsTable, SchemaMigrationsTable } from "./tracking-database.ts";
import { TRACKING_TABLES_SQL, TRACKING_UPGRADE_SQL } from "./tracking-schema.ts";
import {
  inline,
  quoteLiteral,
  RUNNER_LOCK,
  runnerMarker,
  trackingSql as t,
  toEvent,
  toRecord,
} from "./tracking-sql.ts";
import type { Answer, Row, Session, Transport } from "./transport.ts";
import {
  ALREADY_APPLIED,
  ALREADY_ROLLED_BACK,
  applyBatch,
  batch,
  guard,
  guards,
  IN_PROGRESS,
  NOT_APPLIED,
  partlyApplied,
  revokedAttemptMarker,
  rollbackBatch,
  rollbackRefusal,
  rollbackStartBatch,
  STATE_CONFLICT,
  type UnitBatch,
  withinMigration,
} from "./unit-batch.ts";

export interface UnitExecutorOptions {
  transport: Transport;
  timeouts: Timeouts;
  /** When an outcome is unknown, how often to try to establish it before giving up. */
  outcomeRetries: number;
}

/** Missing tracking tables (or their schema): nothing recorded yet. */
const UNDEFINED_TABLE = new Set(["42P01", "3F000"]);
/** A tracking table without a column this version records: written by an earlier version. */
const UNDEFINED_COLUMN = "42703";

/**
 * The one executor algorithm, over any {@link Transport} (pg, PGlite, postgres-meta). Every
 * decision rests on a check made inside the unit that acts on it, under the unit lock: applied or
 * not, a revoked attempt, rollback order, drift, another applier's claim. So:
 *
 * - a transactional migration is one unit, one round trip: the timeouts, the unit lock, the
 *   guards, the SQL, a session reset, the row and the event (`unit-batch.ts`). A failure is
 *   recorded by a second unit after the first rolled back — unless that one finds the migration
 *   applied, as when the answer was lost after the commit. An unknown outcome is established
 *   that way too, retried while the database does not answer; over a transport whose requests
 *   can arrive late, the recorded failure revokes the attempt, so a late copy does not run.
 * - a `transaction:false` section — up or down — is claimed first (its row marked started, under
 *   the lock, after the same checks), then run statement by statement
 *   (`statement-by-statement.ts`), then its outcome recorded. A crash in between leaves the row
 *   showing it interrupted; a second applier meeting the claim waits for it.
 * - bookkeeping without SQL (baseline, adopt, resolve, mark-only rollback) is one unit whose
 *   guards check every row's expected state.
 */
export class UnitExecutor implements Executor {
  readonly kind: string;
  readonly lockScope: "session" | "per-unit";
  private readonly transport: Transport;
  private readonly timeouts: Timeouts;
  private readonly outcomeRetries: number;
  private trackingTables: Promise<void> | null = null;

  constructor(options: UnitExecutorOptions) {
    this.transport = options.transport;
    this.kind = options.transport.kind;
    this.lockScope = options.transport.lockScope;
    this.timeouts = options.timeouts;
    this.outcomeRetries = options.outcomeRetries;
  }

  async readState(): Promise<MigrationRecord[]> {
    const read = () => this.transport.query(inline(t.selectRecords()));
    let answer = await read();
    if (answer.kind === "sql" && UNDEFINED_TABLE.has(answer.failure.code ?? "")) return [];
    if (answer.kind === "sql" && answer.failure.code === UNDEFINED_COLUMN) {
      // Tracking tables an earlier version created: given the columns this one records.
      await this.ensureTrackingTables();
      answer = await read();
    }
    return rowsOf(answer, "read the migration state").map((row) =>
      toRecord(row as unknown as RecordRow),
    );
  }

  async readEvents(query: EventQuery): Promise<MigrationEvent[]> {
    // Its filters vary, so it is built by Kysely, loaded only when the history is asked for.
    const { inlineQueries } = await import("./tracking-queries.ts");
    const answer = await this.transport.query(inlineQueries.selectEvents(query).sql);
    if (answer.kind === "sql" && UNDEFINED_TABLE.has(answer.failure.code ?? "")) return [];
    return rowsOf(answer, "read the audit trail").map((row) => toEvent(row as unknown as EventRow));
  }

  acquireLock(options: LockOptions): Promise<LockHandle> {
    return this.transport.acquireRunLock(options);
  }

  async applyMigration({ migration, actor, claimWaitMs = 0 }: ApplyRequest): Promise<ApplyOutcome> {
    await this.ensureTrackingTables();
    if (!migration.transactional) {
      return this.applyStatementByStatement(migration, actor, claimWaitMs);
    }
    for (let retry = 0; ; retry++) {
      const started = performance.now();
      // A request that can reach the database after it was given up on carries an id that the
      // failure recorded for it revokes.
      const attempt = this.transport.lateDelivery ? randomUUID().slice(0, 13) : undefined;
      const unit = applyBatch(migration, actor, this.timeouts, {
        ...(attempt === undefined ? {} : { attempt }),
        offset: this.transport.unitOffset,
      });
      const answer = await this.transport.unit(unit.sql);
      const elapsed = elapsedSince(started);
      switch (answer.kind) {
        case "rows":
          return { status: "applied", executionTimeMs: executionTime(answer.rows, elapsed) };
        case "sql": {
          if (answer.failure.code === ALREADY_APPLIED) return { status: "already_applied" };
          if (answer.failure.code === STATE_CONFLICT) throw stateConflict(migration.name, "failed");
          const failure = this.failureOf(answer.failure, unit);
          if (isLockTimeout(failure) && retry < this.timeouts.lockRetries) {
            await sleep(retryDelayMs(this.timeouts, retry));
            continue;
          }
          return this.recordApplyFailure(migration, actor, elapsed, failure);
        }
        case "unavailable":
          throw (
            refusalOf(failureOfAnswer(answer), `apply ${migration.name}`) ??
            new ExecutorUnavailableError(
              `Could not apply ${migration.name}: ${answer.reason}; nothing ran.`,
            )
          );
        case "unknown":
          return this.recordApplyFailure(
            migration,
            actor,
            elapsed,
            unknownOutcome(
              `${answer.reason}; the outcome was checked afterwards and the change did not commit${attempt === undefined ? "" : `; should the request still arrive, it will not run ${revokedAttemptMarker(attempt)}`}`,
            ),
          );
      }
    }
  }

  async rollbackMigration({ migration, actor }: RollbackRequest): Promise<RollbackOutcome> {
    await this.ensureTrackingTables();
    if (!migration.transactional) return this.rollbackStatementByStatement(migration, actor);
    for (let retry = 0; ; retry++) {
      const started = performance.now();
      const unit = rollbackBatch(migration, actor, this.timeouts, {
        offset: this.transport.unitOffset,
      });
      const answer = await this.transport.unit(unit.sql);
      const elapsed = elapsedSince(started);
      switch (answer.kind) {
        case "rows":
          return { status: "rolled_back", executionTimeMs: executionTime(answer.rows, elapsed) };
        case "sql": {
          if (answer.failure.code === NOT_APPLIED) return { status: "not_applied" };
          const refused = rollbackRefusal(answer.failure, migration.name);
          if (refused) throw refused;
          const failure = this.failureOf(answer.failure, unit);
          if (isLockTimeout(failure) && retry < this.timeouts.lockRetries) {
            await sleep(retryDelayMs(this.timeouts, retry));
            continue;
          }
          return this.recordRollbackFailure(migration, actor, elapsed, failure);
        }
        case "unavailable":
          throw (
            refusalOf(failureOfAnswer(answer), `roll back ${migration.name}`) ??
            new ExecutorUnavailableError(
              `Could not roll back ${migration.name}: ${answer.reason}; nothing ran.`,
            )
          );
        case "unknown":
          return this.recordRollbackFailure(
            migration,
            actor,
            elapsed,
            unknownOutcome(
              `${answer.reason}; the outcome was checked afterwards and the change did not commit`,
            ),
          );
      }
    }
  }

  async recordChanges(changes: readonly Bookkeeping[], actor: string): Promise<void> {
    if (changes.length === 0) return;
    await this.ensureTrackingTables();
    const statements = [inline(t.lockUnit())];
    for (const change of changes) {
      const current = `coalesce((${inline(t.selectStatus(change.migrationName))}), 'absent')`;
      const expected = change.expect.map(quoteLiteral).join(", ");
      statements.push(
        guard(
          `${current} <> all (array[${expected}]::text[])`,
          STATE_CONFLICT,
          `${quoteLiteral(`${change.migrationName} is `)} || ${current}`,
          true,
        ),
      );
    }
    for (const change of changes) {
      let checksum: string | null = null;
      if (change.kind === "mark_applied") {
        checksum = change.checksum;
        statements.push(
          inline(
            t.upsertApplied({
              migrationName: change.migrationName,
              actor,
              checksum,
              executionTimeMs: null,
              upSql: null,
              transactional: null,
            }),
          ),
        );
      } else if (change.kind === "mark_rolled_back") {
        statements.push(inline(t.markRolledBack({ migrationName: change.migrationName, actor })));
      } else {
        checksum = change.checksum;
        statements.push(inline(t.setChecksum({ migrationName: change.migrationName, checksum })));
      }
      statements.push(
        inline(
          t.insertEvent({
            migrationName: change.migrationName,
            action: change.action,
            outcome: "succeeded",
            actor,
            executionTimeMs: null,
            errorMessage: change.kind === "mark_applied" ? (change.note ?? null) : null,
            checksum,
          }),
        ),
      );
    }
    statements.push("select 'recorded' as outcome");
    const answer = await this.transport.unit(batch(...statements));
    if (answer.kind === "sql" && answer.failure.code === STATE_CONFLICT) {
      const [name = "", status = "unknown"] = answer.failure.message.split(" is ");
      throw stateConflict(name, status);
    }
    rowsOf(answer, "record the change");
  }

  /** `adopt`: another tool's history (see `Executor.readForeignVersions`). */
  async readForeignVersions(source: ForeignHistorySource): Promise<ForeignVersions> {
    const { guardForeignRead, readForeignVersionsWith } = await import("./foreign-versions.ts");
    return guardForeignRead(source, () =>
      readForeignVersionsWith(
        source,
        async <R>(query: { sql: string; parameters: readonly unknown[] }) =>
          rowsOf(await this.transport.query(inline(query)), `read the ${source.kind} history`, {
            trackingTables: false,
          }) as R[],
      ),
    );
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  /** What the database said about a unit, positions counted from the migration's own SQL. */
  private failureOf(failure: SqlFailure, unit: UnitBatch): SqlFailure {
    return withinMigration(failure, unit, this.transport.unitOffset);
  }

  /**
   * Records a failed apply — unless the migration turns out to be applied after all, which
   * happens when the answer was lost after the commit: under the unit lock, which waits for a
   * batch still running, the state read is the truth.
   */
  private async recordApplyFailure(
    migration: MigrationToRun,
    actor: string,
    executionTimeMs: number,
    failure: SqlFailure,
  ): Promise<ApplyOutcome> {
    const answer = await this.untilKnown(
      `record the failure of ${migration.name} (${failure.message})`,
      batch(
        inline(t.lockUnit()),
        guard(
          `(${inline(t.selectStatus(migration.name))}) = 'applied'`,
          ALREADY_APPLIED,
          "already applied",
        ),
        inline(
          t.upsertFailed({
            migrationName: migration.name,
            actor,
            checksum: migration.checksum,
            executionTimeMs,
            errorMessage: failure.message,
            // A transaction that rolled back left nothing of what it ran; statements run one
            // by one may have left part of theirs.
            upSql: migration.transactional ? null : migration.sql,
            transactional: migration.transactional,
          }),
        ),
        inline(
          t.insertEvent(
            attemptEvent(migration, "apply", "failed", actor, executionTimeMs, failure.message),
          ),
        ),
        "select 'failed' as outcome",
      ),
    );
    if (answer.kind === "sql" && answer.failure.code === ALREADY_APPLIED) {
      return { status: "applied", executionTimeMs };
    }
    rowsOf(answer, `record the failure of ${migration.name}`);
    return { status: "failed", executionTimeMs, error: failure };
  }

  private async recordRollbackFailure(
    migration: MigrationToRun,
    actor: string,
    executionTimeMs: number,
    failure: SqlFailure,
  ): Promise<RollbackOutcome> {
    const answer = await this.untilKnown(
      `record the failed rollback of ${migration.name} (${failure.message})`,
      batch(
        inline(t.lockUnit()),
        guard(
          `(${inline(t.selectStatus(migration.name))}) = 'rolled_back'`,
          ALREADY_ROLLED_BACK,
          "already rolled back",
        ),
        // Outside a transaction, the statements before the failing one stay done: the row says so.
        ...(migration.transactional
          ? []
          : [
              inline(
                t.markRollbackAttempt({
                  migrationName: migration.name,
                  errorMessage: rollbackFailedMessage(failure.message),
                  executionTimeMs,
                }),
              ),
            ]),
        inline(
          t.insertEvent(
            attemptEvent(migration, "rollback", "failed", actor, executionTimeMs, failure.message),
          ),
        ),
        "select 'failed' as outcome",
      ),
    );
    if (answer.kind === "sql" && answer.failure.code === ALREADY_ROLLED_BACK) {
      return { status: "rolled_back", executionTimeMs };
    }
    rowsOf(answer, `record the failed rollback of ${migration.name}`);
    return { status: "failed", executionTimeMs, error: failure };
  }

  /**
   * `transaction:false`: claimed (recorded as started, under the unit lock, unless applied or
   * claimed by another), then run statement by statement, then the outcome recorded.
   */
  private async applyStatementByStatement(
    migration: MigrationToRun,
    actor: string,
    claimWaitMs: number,
  ): Promise<ApplyOutcome> {
    const begin = await this.transport.unit(
      batch(
        inline(t.lockUnit()),
        guard(
          `(${inline(t.selectStatus(migration.name))}) = 'applied'`,
          ALREADY_APPLIED,
          "already applied",
        ),
        // The started row is the claim: an applier that planned before another's claim (no run
        // lock spans requests over postgres-meta, and a run lock can be lost) must not run the
        // statements a second time.
        guard(
          `exists (${inline(t.selectUnfinishedBy(migration.name))})`,
          IN_PROGRESS,
          `coalesce((${inline(t.selectUnfinishedBy(migration.name))}), 'another applier')`,
          true,
        ),
        guards([partlyApplied(migration.name)]),
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
      ),
    );
    if (begin.kind === "sql" && begin.failure.code === ALREADY_APPLIED) {
      return { status: "already_applied" };
    }
    if (begin.kind === "sql" && begin.failure.code === IN_PROGRESS) {
      return this.awaitClaim(migration, begin.failure.message, claimWaitMs);
    }
    if (begin.kind === "sql" && begin.failure.code === STATE_CONFLICT) {
      throw stateConflict(migration.name, "failed");
    }
    rowsOf(begin, `record ${migration.name} as started`);

    const started = performance.now();
    const failure = await this.runStatements(migration.name, migration.sql);
    const executionTimeMs = elapsedSince(started);
    if (failure) return this.recordApplyFailure(migration, actor, executionTimeMs, failure);
    const done = await this.untilKnown(
      `record ${migration.name} as applied (its statements all ran)`,
      batch(
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
          t.insertEvent(
            attemptEvent(migration, "apply", "succeeded", actor, executionTimeMs, null),
          ),
        ),
        "select 'applied' as outcome",
      ),
    );
    rowsOf(done, `record ${migration.name} as applied`);
    return { status: "applied", executionTimeMs };
  }

  /**
   * Another applier holds the claim on a `transaction:false` migration (its started row): waits,
   * polling with backoff, for it to finish — `already_applied` — or to end otherwise (a
   * `StateConflictError` saying so); `LockBusyError` naming the holder if `waitMs` runs out first.
   */
  private async awaitClaim(
    migration: MigrationToRun,
    holder: string,
    waitMs: number,
  ): Promise<ApplyOutcome> {
    const started = performance.now();
    for (let attempt = 0; ; attempt++) {
      const waited = elapsedSince(started);
      if (waited >= waitMs) throw new LockBusyError(`${holder}, running ${migration.name}`, waited);
      await sleep(Math.min(waitMs - waited, 100 * 1.5 ** Math.min(attempt, 6)));
      const [row] = rowsOf(
        await this.transport.query(
          `select (${inline(t.selectStatus(migration.name))}) as status, exists (${inline(t.selectUnfinishedBy(migration.name))}) as unfinished`,
        ),
        `read the state of ${migration.name}`,
      );
      if (row?.unfinished === true) continue;
      if (row?.status === "applied") return { status: "already_applied" };
      throw stateConflict(migration.name, typeof row?.status === "string" ? row.status : "absent");
    }
  }

  /**
   * A `transaction:false` down section: checked and claimed under the unit lock like a
   * transactional rollback's unit (a second rollback racing this one finds it not applied), then
   * run statement by statement, then the outcome recorded.
   */
  private async rollbackStatementByStatement(
    migration: MigrationToRun,
    actor: string,
  ): Promise<RollbackOutcome> {
    const begin = await this.transport.unit(rollbackStartBatch(migration, actor));
    if (begin.kind === "sql") {
      if (begin.failure.code === NOT_APPLIED) return { status: "not_applied" };
      const refused = rollbackRefusal(begin.failure, migration.name);
      if (refused) throw refused;
    }
    rowsOf(begin, `record the rollback of ${migration.name} as started`);
    const started = performance.now();
    const failure = await this.runStatements(migration.name, migration.sql);
    const executionTimeMs = elapsedSince(started);
    if (failure) return this.recordRollbackFailure(migration, actor, executionTimeMs, failure);
    const done = await this.untilKnown(
      `record ${migration.name} as rolled back (its down section's statements all ran)`,
      batch(
        inline(t.lockUnit()),
        inline(t.markRolledBack({ migrationName: migration.name, actor })),
        inline(
          t.insertEvent(
            attemptEvent(migration, "rollback", "succeeded", actor, executionTimeMs, null),
          ),
        ),
        "select 'rolled_back' as outcome",
      ),
    );
    rowsOf(done, `record ${migration.name} as rolled back`);
    return { status: "rolled_back", executionTimeMs };
  }

  /**
   * Each statement alone, outside a transaction — but a transaction the migration runs itself
   * (`BEGIN` … `COMMIT`) as one: over a session that does not persist between statements, sent
   * together. The first that does not succeed ends the run, rolling back a transaction the
   * migration opened; one it opens and never ends is a failure, rolled back. On a persistent
   * session the engine's timeouts apply and a `lock_timeout` retries the statement. A concurrent
   * index build that fails has the INVALID index it left dropped — before a retry too, which
   * `IF NOT EXISTS` would otherwise take for the finished index.
   */
  private async runStatements(migrationName: string, sql: string): Promise<SqlFailure | null> {
    const statements = splitSqlStatements(sql);
    try {
      return await this.statementsOn(migrationName, statements);
    } catch (error) {
      // No session to run them on (the connection failed): nothing of them ran.
      return toSqlFailure(error);
    }
  }

  private statementsOn(
    migrationName: string,
    statements: readonly SqlStatement[],
  ): Promise<SqlFailure | null> {
    return this.transport.session(async (raw) => {
      // The runner's sign of life, which the database answers "running" from (see RUNNING_SQL):
      // a session lock held while the statements run, or, with no session, a marker on each
      // statement.
      const session = raw.persistent ? raw : markedSession(raw, migrationName);
      if (session.persistent) {
        const set = await session.run(
          `${timeoutSettings(this.timeouts, "session")}; select pg_catalog.pg_advisory_lock(${RUNNER_LOCK}, pg_catalog.hashtext(${quoteLiteral(migrationName)}))`,
        );
        if (set.kind !== "rows") return statementFailure(set);
      }
      try {
        return await this.statementsIn(session, statements);
      } finally {
        if (session.persistent) {
          await session.run(
            `select pg_catalog.pg_advisory_unlock(${RUNNER_LOCK}, pg_catalog.hashtext(${quoteLiteral(migrationName)}))`,
          );
        }
      }
    });
  }

  private async statementsIn(
    session: Session,
    statements: readonly SqlStatement[],
  ): Promise<SqlFailure | null> {
    const groups = session.persistent
      ? statements.map((statement) => [statement])
      : groupByTransaction(statements);
    let inTransaction = false;
    for (const group of groups) {
      const text = group.map((statement) => statement.text).join(";\n");
      const first = group[0]?.text ?? "";
      const last = group.at(-1)?.text ?? "";
      if (!session.persistent && opensTransaction(first) && !closesTransaction(last)) {
        return LEFT_OPEN;
      }
      const failure = await this.runStatement(session, text, inTransaction);
      if (failure) {
        // Ends the migration's own transaction, if one is open (a warning otherwise).
        if (session.persistent) await session.run("rollback");
        return failure;
      }
      if (session.persistent) {
        if (opensTransaction(text)) inTransaction = true;
        else if (closesTransaction(text)) inTransaction = false;
      }
    }
    if (inTransaction) {
      await session.run("rollback");
      return LEFT_OPEN;
    }
    return null;
  }

  private async runStatement(
    session: Session,
    text: string,
    inTransaction: boolean,
  ): Promise<SqlFailure | null> {
    const concurrent = !inTransaction && buildsIndexConcurrently(text);
    const invalid = async () =>
      new Set(
        rowsOf(await session.run(INVALID_INDEXES_SQL), "read the INVALID indexes").map((row) =>
          String(row.name),
        ),
      );
    for (let retry = 0; ; retry++) {
      const invalidBefore = concurrent ? await invalid() : null;
      const answer = await session.run(text);
      if (answer.kind === "rows") return null;
      let failure = statementFailure(answer);
      if (invalidBefore && answer.kind === "sql") {
        const left = await dropLeftIndexes(
          [...(await invalid())].filter((name) => !invalidBefore.has(name)),
          async (drop) => {
            const dropped = await session.run(drop);
            return dropped.kind === "rows" ? null : statementFailure(dropped);
          },
          this.timeouts,
        );
        failure = withLeftIndexes(failure, left);
        // A retry would take the index still there for a finished one (IF NOT EXISTS).
        if (left.remaining.length > 0) return failure;
      }
      // Within the migration's own transaction a statement cannot be retried alone.
      if (isLockTimeout(failure) && !inTransaction && retry < this.timeouts.lockRetries) {
        await sleep(retryDelayMs(this.timeouts, retry));
        continue;
      }
      return failure;
    }
  }

  /** Repeats a unit whose outcome is unknown, with backoff, until the database answers. */
  private async untilKnown(what: string, sql: string): Promise<Answer> {
    let reason = "not tried";
    for (let attempt = 0; attempt <= this.outcomeRetries; attempt++) {
      if (attempt > 0) await sleep(Math.min(8_000, 250 * 2 ** attempt));
      const answer = await this.transport.unit(sql);
      if (answer.kind === "rows" || answer.kind === "sql") return answer;
      reason = answer.reason;
    }
    throw new ExecutorUnavailableError(`Could not ${what}: ${reason}.`, {
      hint: "The database did not answer; check the migration's state before retrying.",
    });
  }

  /**
   * Creates the tracking tables (the same objects as migration 000), or adds the columns this
   * version records, if they are missing: once per executor, before its first write, so the very
   * first attempt has somewhere to be recorded.
   */
  private ensureTrackingTables(): Promise<void> {
    this.trackingTables ??= (async () => {
      // A standby, read-only transactions, a role that could not create or write the tracking
      // tables: refused here, before the first write, naming the role and the grants.
      const [target] = rowsOf(await this.transport.query(TARGET_CHECK_SQL), "check the target");
      const refused = targetRefusal(target as unknown as TargetCheckRow | undefined);
      if (refused) throw refused;
      if (target?.tracking === "complete") return;
      rowsOf(
        await this.transport.unit(
          batch(
            inline(t.lockUnit()),
            TRACKING_TABLES_SQL,
            TRACKING_UPGRADE_SQL,
            "select true as exist",
          ),
        ),
        "create the tracking tables",
      );
    })().catch((error: unknown) => {
      this.trackingTables = null;
      throw error;
    });
    return this.trackingTables;
  }
}

type RecordRow = Parameters<typeof toRecord>[0] & Partial<SchemaMigrationsTable>;
type EventRow = Parameters<typeof toEvent>[0] & Partial<SchemaMigrationEventsTable>;

/** The rows of an answer, or `ExecutorUnavailableError` saying what could not be done. */
function rowsOf(answer: Answer, what: string, refusal: { trackingTables?: boolean } = {}): Row[] {
  if (answer.kind === "rows") return answer.rows;
  const refused = refusalOf(failureOfAnswer(answer), what, refusal);
  if (refused) throw refused;
  const reason = answer.kind === "sql" ? answer.failure.message : answer.reason;
  throw new ExecutorUnavailableError(`Could not ${what}: ${reason}`);
}

/** What an answer that is not rows said, as a failure (a connection's reason has no SQLSTATE). */
function failureOfAnswer(answer: Exclude<Answer, { kind: "rows" }>): SqlFailure {
  return answer.kind === "sql"
    ? answer.failure
    : { message: answer.reason, code: null, detail: null, hint: null, position: null };
}

/** The time measured inside the batch, or on this side if its answer did not carry it. */
function executionTime(rows: Row[], elapsed: number): number {
  const measured = Number(rows.at(-1)?.execution_time_ms);
  return Number.isFinite(measured) ? measured : elapsed;
}

function unknownOutcome(message: string): SqlFailure {
  return { message, code: null, detail: null, hint: null, position: null };
}

/**
 * A statement run outside a transaction that did not succeed. Nothing is rolled back there, and
 * no check can tell whether a lost statement ran: say so, rather than a unit's "did not commit".
 */
function statementFailure(answer: Exclude<Answer, { kind: "rows" }>): SqlFailure {
  if (answer.kind === "sql") return answer.failure;
  return unknownOutcome(
    answer.kind === "unavailable"
      ? `${answer.reason}; this statement did not run`
      : `${answer.reason}; this statement may or may not have run (outside a transaction, nothing was rolled back): inspect the database`,
  );
}

/**
 * A session without one (postgres-meta): each statement carries the runner's marker, which
 * `pg_stat_activity` shows while it runs.
 */
function markedSession(session: Session, migrationName: string): Session {
  const marker = runnerMarker(createHash("md5").update(migrationName, "utf8").digest("hex"));
  return { persistent: false, run: (sql) => session.run(`${marker}\n${sql}`) };
}
