import { createHash, randomBytes, randomUUID } from "node:crypto";
import {
  type ApplyOutcome,
  type ApplyRequest,
  type Bookkeeping,
  type EventQuery,
  type Executor,
  ExecutorUnavailableError,
  type ForeignHistorySource,
  type ForeignVersions,
  type InterruptedEventWritten,
  isMigrationError,
  LockBusyError,
  type LockHandle,
  type LockOptions,
  type MigrationEvent,
  type MigrationRecord,
  type MigrationTimeouts,
  type MigrationToRun,
  type RecordedChanges,
  type RehearseOutcome,
  type RehearseRequest,
  type RelationSize,
  type RollbackOutcome,
  type RollbackRequest,
  type SqlFailure,
  type SqlStatement,
  splitSqlStatements,
} from "@studio/migrations-core";
import { capFailure, elapsedSince, stateConflict } from "./attempt.ts";
import {
  refusalOf,
  TARGET_CHECK_SQL,
  type TargetCheckRow,
  targetRefusal,
} from "./database-refusals.ts";
import { describeLockTimeout } from "./lock-holders.ts";
import { readRelationSizesOver, rehearseOver } from "./rehearsal.ts";
import {
  isLockTimeout,
  retryDelayMs,
  sleep,
  type Timeouts,
  timeoutSettings,
  toSqlFailure,
} from "./sql-failure.ts";
import {
  alteredByTransactionBlock,
  buildsIndexConcurrently,
  closesTransaction,
  dropLeftIndexes,
  groupByTransaction,
  INVALID_INDEXES_SQL,
  LEFT_OPEN,
  opensTransaction,
  refusesTransactionBlock,
  withLeftIndexes,
} from "./statement-by-statement.ts";
import type { SchemaMigrationEventsTable, SchemaMigrationsTable } from "./tracking-database.ts";
import { TRACKING_TABLES_SQL, TRACKING_UPGRADE_SQL } from "./tracking-schema.ts";
import { trackingSql as t } from "./tracking-sql.generated.ts";
import {
  inline,
  quoteLiteral,
  RUNNER_LOCK,
  runnerMarker,
  toEvent,
  toRecord,
} from "./tracking-sql.ts";
import type { Answer, Row, Session, Transport } from "./transport.ts";
import {
  ALREADY_APPLIED,
  appliedBatch,
  applyBatch,
  applyClaimBatch,
  applyFailedBatch,
  batch,
  DONE_AFTER_ALL,
  DRIFTED,
  IN_PROGRESS,
  NOT_APPLIED,
  ROLLBACK_ORDER,
  raisedGuard,
  recordChangesBatch,
  revokedAttemptMarker,
  rollbackBatch,
  rollbackClaimBatch,
  rollbackFailedBatch,
  rollbackRefusal,
  rolledBackBatch,
  STATE_CONFLICT,
  type UnitBatch,
  type UnitOptions,
  unitRefusal,
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
 * What sets an apply apart from a rollback, as data for the one algorithm of {@link UnitExecutor}:
 * the batches that check, run and record the section (`unit-batch.ts`), and what a guard's
 * refusal means. Built per request (`applying`, `rollingBack`).
 */
interface Direction<Outcome> {
  readonly migration: MigrationToRun;
  readonly action: "apply" | "rollback";
  /** The executor's limits, with the request's own for this run (`--lock-timeout`, …). */
  readonly timeouts: Timeouts;
  /** In messages: `apply`, `roll back`. */
  readonly verb: string;
  /** In messages: `applied`, `rolled back`. */
  readonly done: string;
  /** A transactional section as one unit: guards, the SQL, the bookkeeping. */
  unit(options: UnitOptions): UnitBatch;
  /** A `transaction:false` section's claim: the same guards, then its row marked started. */
  claim(): string;
  /** What a guard's refusal means — an outcome, or an error thrown; null if no guard refused. */
  refused(failure: SqlFailure): Outcome | Promise<Outcome> | null;
  succeeded(executionTimeMs: number): Outcome;
  /** A `transaction:false` section whose statements all ran: its row and event. */
  recordSuccess(executionTimeMs: number): string;
  /** A failed attempt's row and event (their messages capped), unless it is done after all. */
  recordFailure(executionTimeMs: number, message: string): string;
}

/** The outcome both directions share: the section failed, and that was recorded. */
type Failed = Extract<ApplyOutcome | RollbackOutcome, { status: "failed" }>;

/**
 * The one executor algorithm, over any {@link Transport} (pg, PGlite, postgres-meta), for an apply
 * and a rollback alike ({@link Direction}). Every decision rests on a check made inside the unit
 * that acts on it, under the unit lock: applied or not, a revoked attempt, rollback order, drift,
 * another applier's claim, a runner still working. So:
 *
 * - a transactional section is one unit, one round trip: the timeouts, the unit lock, the
 *   guards, the SQL, a session reset, the row and the event (`unit-batch.ts`). A failure is
 *   recorded by a second unit after the first rolled back — unless that one finds the change
 *   made, as when the answer was lost after the commit. An unknown outcome is established
 *   that way too, retried while the database does not answer; over a transport whose requests
 *   can arrive late, the recorded failure revokes the attempt, so a late copy does not run.
 * - a `transaction:false` section — up or down — is claimed first (its row marked started, under
 *   the lock, after the same checks), then run statement by statement
 *   (`statement-by-statement.ts`), then its outcome recorded. A crash in between leaves the row
 *   showing it interrupted; a second applier meeting the claim waits for it.
 * - bookkeeping without SQL (baseline, adopt, resolve, mark-only rollback) is one unit whose
 *   guard checks every row's expected state — and that none is running.
 * - every error message stored or returned is capped at 16 KiB, marked as cut (SPEC §3).
 */
export class UnitExecutor implements Executor {
  readonly kind: string;
  readonly lockScope: "session" | "per-unit";
  private readonly transport: Transport;
  private readonly timeouts: Timeouts;
  private readonly outcomeRetries: number;
  private trackingTables: Promise<void> | null = null;
  /** A target check read ahead, while the run lock was being taken; taken by the first write. */
  private targetCheck: Promise<TargetCheckRow | undefined> | null = null;

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
    const { variableInlineQueries } = await import("./tracking-queries.ts");
    const read = () => this.transport.query(variableInlineQueries.selectEvents(query).sql);
    let answer = await read();
    if (answer.kind === "sql" && UNDEFINED_TABLE.has(answer.failure.code ?? "")) return [];
    if (answer.kind === "sql" && answer.failure.code === UNDEFINED_COLUMN) {
      // Tracking tables an earlier version created: given the columns this one records.
      await this.ensureTrackingTables();
      answer = await read();
    }
    return rowsOf(answer, "read the audit trail").map((row) => toEvent(row as unknown as EventRow));
  }

  acquireLock(options: LockOptions): Promise<LockHandle> {
    // The target check only reads: over pg it goes while the run lock's connection opens, rather
    // than after (an operation that takes the lock is about to write). Its answer waits for the
    // first write (`ensureTrackingTables`), which throws its refusal.
    if (this.trackingTables === null) {
      this.targetCheck = this.readTargetCheck();
      this.targetCheck.catch(() => {});
    }
    return this.transport.acquireRunLock(options);
  }

  async applyMigration(request: ApplyRequest): Promise<ApplyOutcome> {
    await this.ensureTrackingTables();
    return this.run(this.applying(request));
  }

  async rollbackMigration(request: RollbackRequest): Promise<RollbackOutcome> {
    await this.ensureTrackingTables();
    return this.run(this.rollingBack(request));
  }

  async recordChanges(changes: readonly Bookkeeping[], actor: string): Promise<RecordedChanges> {
    if (changes.length === 0) return { interrupted: [] };
    await this.ensureTrackingTables();
    const answer = await this.transport.unit(recordChangesBatch(changes, actor));
    if (answer.kind === "sql" && answer.failure.code === STATE_CONFLICT) {
      throw stateConflict(answer.failure.detail ?? "", answer.failure.message);
    }
    const [row] = rowsOf(answer, "record the change");
    return { interrupted: interruptedNoted(row?.interrupted) };
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

  /** The up SQL recorded as it ran (`up_sql`), for the page's applied-SQL view and drift diff. */
  async readRecordedSql(migrationName: string): Promise<string | null> {
    const answer = await this.transport.query(inline(t.selectRecordedSql({ migrationName })));
    if (answer.kind === "sql" && UNDEFINED_TABLE.has(answer.failure.code ?? "")) return null;
    const row = rowsOf(answer, `read the recorded SQL of ${migrationName}`)[0];
    return typeof row?.up_sql === "string" ? row.up_sql : null;
  }

  /** This executor's limits, with what one request asks for its own run instead. */
  private timeoutsFor(asked: MigrationTimeouts | undefined): Timeouts {
    return {
      ...this.timeouts,
      ...(asked?.lockTimeoutMs === undefined ? {} : { lockTimeoutMs: asked.lockTimeoutMs }),
      ...(asked?.statementTimeoutMs === undefined
        ? {}
        : { statementTimeoutMs: asked.statementTimeoutMs }),
    };
  }

  /** SPEC §9 *Lint*: the target's sizes of relations (see `Executor.readRelationSizes`). */
  readRelationSizes(names: readonly string[]): Promise<RelationSize[]> {
    return readRelationSizesOver(this.transport, names);
  }

  /** SPEC §9 *Rehearse*: run in one transaction, then rolled back (see `Executor.rehearse`). */
  rehearse(request: RehearseRequest): Promise<RehearseOutcome> {
    return rehearseOver(this.transport, request, this.timeouts);
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  /** An apply, as {@link Direction} data for the one algorithm. */
  private applying({
    migration,
    actor,
    claimWaitMs = 0,
    timeouts: asked,
  }: ApplyRequest): Direction<ApplyOutcome> {
    const timeouts = this.timeoutsFor(asked);
    return {
      migration,
      timeouts,
      action: "apply",
      verb: "apply",
      done: "applied",
      unit: (options) => applyBatch(migration, actor, timeouts, options),
      claim: () => applyClaimBatch(migration, actor),
      refused: (failure) => {
        switch (failure.code) {
          case ALREADY_APPLIED:
            return { status: "already_applied" };
          case IN_PROGRESS:
            return this.awaitClaim(migration, failure.message, claimWaitMs);
          case STATE_CONFLICT:
            throw stateConflict(migration.name, "failed");
          default:
            return null;
        }
      },
      succeeded: (executionTimeMs) => ({ status: "applied", executionTimeMs }),
      recordSuccess: (executionTimeMs) => appliedBatch(migration, actor, executionTimeMs),
      recordFailure: (executionTimeMs, message) =>
        applyFailedBatch(migration, actor, executionTimeMs, message),
    };
  }

  /** A rollback, as {@link Direction} data for the one algorithm. */
  private rollingBack({
    migration,
    actor,
    timeouts: asked,
  }: RollbackRequest): Direction<RollbackOutcome> {
    const timeouts = this.timeoutsFor(asked);
    return {
      migration,
      timeouts,
      action: "rollback",
      verb: "roll back",
      done: "rolled back",
      unit: (options) => rollbackBatch(migration, actor, timeouts, options),
      claim: () => rollbackClaimBatch(migration, actor),
      refused: (failure) => {
        if (failure.code === NOT_APPLIED) return { status: "not_applied" };
        const refusal = rollbackRefusal(failure, migration.name);
        if (refusal) throw refusal;
        return null;
      },
      succeeded: (executionTimeMs) => ({ status: "rolled_back", executionTimeMs }),
      recordSuccess: (executionTimeMs) => rolledBackBatch(migration, actor, executionTimeMs),
      recordFailure: (executionTimeMs, message) =>
        rollbackFailedBatch(migration, actor, executionTimeMs, message),
    };
  }

  private run<O>(d: Direction<O>): Promise<O | Failed> {
    return d.migration.transactional ? this.runUnit(d) : this.runStatementByStatement(d);
  }

  /**
   * A transactional section: one unit — checked, run and recorded in one transaction. A lock
   * timeout is retried with backoff; a failure is recorded after the unit rolled back; an unknown
   * outcome is established by that record, under the unit lock.
   */
  private async runUnit<O>(d: Direction<O>): Promise<O | Failed> {
    const { migration } = d;
    for (let retry = 0; ; retry++) {
      const started = performance.now();
      // A request that can reach the database after it was given up on carries an id that the
      // failure recorded for it revokes.
      const attempt = this.transport.lateDelivery ? randomUUID().slice(0, 13) : undefined;
      const unit = d.unit({ attempt, offset: this.transport.unitOffset });
      const answer = await this.transport.unit(unit.sql);
      const elapsed = elapsedSince(started);
      switch (answer.kind) {
        case "rows":
          return d.succeeded(executionTime(answer.rows, elapsed));
        case "sql": {
          const guarded = unitRefusal(answer.failure, unit, answer.completed);
          const refused = guarded === null ? null : d.refused(guarded);
          if (refused !== null) return refused;
          const failure = withinMigration(
            answer.failure,
            unit,
            this.transport.unitOffset,
            answer.completed,
          );
          if (isLockTimeout(failure) && retry < d.timeouts.lockRetries) {
            await sleep(retryDelayMs(d.timeouts, retry));
            continue;
          }
          // A lock given up on: the failure names who holds it (the unit rolled back: not us).
          const described = await describeLockTimeout(
            (sql) => this.transport.query(sql),
            migration.sql,
            failure,
            { attempts: retry + 1, lockTimeoutMs: d.timeouts.lockTimeoutMs },
          );
          return this.recordFailure(d, elapsed, described);
        }
        case "unavailable":
          throw (
            refusalOf(failureOfAnswer(answer), `${d.verb} ${migration.name}`) ??
            new ExecutorUnavailableError(
              `Could not ${d.verb} ${migration.name}: ${answer.reason}; nothing ran.`,
            )
          );
        case "unknown":
          return this.recordFailure(
            d,
            elapsed,
            unknownOutcome(
              `${answer.reason}; the outcome was checked afterwards and the change did not commit${attempt === undefined ? "" : `; should the request still arrive, it will not run ${revokedAttemptMarker(attempt)}`}`,
            ),
          );
      }
    }
  }

  /**
   * A `transaction:false` section — up or down: claimed (its row marked started, under the unit
   * lock, after the same checks as a unit's), run statement by statement, and its outcome
   * recorded, all on one session (`section`). A crash in between leaves the row showing it
   * interrupted. A guard's refusal is answered once the session is let go: waiting for another
   * applier's claim reads the database, which on PGlite the session holds.
   */
  private async runStatementByStatement<O>(d: Direction<O>): Promise<O | Failed> {
    let ran: SectionResult<O>;
    try {
      ran = await this.transport.session((session) => this.section(d, session));
    } catch (error) {
      if (isMigrationError(error)) throw error;
      // No session to run it on (the connection failed): nothing was claimed, nothing ran.
      throw new ExecutorUnavailableError(
        `Could not ${d.verb} ${d.migration.name}: ${toSqlFailure(error).message}; nothing ran.`,
      );
    }
    if ("outcome" in ran) return ran.outcome;
    const refused = d.refused(ran.refused);
    if (refused === null) throw new Error(`Unexpected refusal ${ran.refused.code}.`);
    return refused;
  }

  /**
   * The section on its session, with the runner's sign of life — which the database answers
   * "running" from (see RUNNING_SQL) — spanning its claim and its record, so that no check made
   * meanwhile (a resolve's, another applier's) can take it for interrupted: on a persistent
   * session (pg, PGlite) the runner lock, taken before the claim and let go after the record;
   * with no session (postgres-meta) the runner's marker on each statement, on the record, and on
   * a statement kept running from before the claim (which waits until it runs) until after the
   * record ({@link keepMarkedStatement}), which covers the requests in between. The claim and the
   * record are units of the session (`Session.unit`): on PGlite, nothing else comes in between
   * them and the statements.
   */
  private async section<O>(d: Direction<O>, raw: Session): Promise<SectionResult<O>> {
    const { migration } = d;
    const marker = raw.persistent ? null : runnerMarker(md5(migration.name));
    const session = marker === null ? raw : markedSession(raw, marker, d.timeouts);
    const signOfLife = marker === null ? null : keepMarkedStatement(raw, marker);
    try {
      await signOfLife?.started;
      return await this.claimRunRecord(d, raw, session);
    } finally {
      await signOfLife?.stop();
    }
  }

  /** The section's claim, its statements and its outcome's record, under that sign of life. */
  private async claimRunRecord<O>(
    d: Direction<O>,
    raw: Session,
    session: Session,
  ): Promise<SectionResult<O>> {
    const { migration } = d;
    const lock = runnerLock(migration.name);
    // Not waited for: another runner of this migration holding it has claimed it, or is about
    // to, and then this claim is refused.
    let held =
      session.persistent &&
      rowsOf(await session.run(lock.try), "take the runner lock")[0]?.locked === true;
    try {
      // Unmarked: until it commits, its row is not there for anyone to read.
      const claim = await raw.unit(d.claim());
      const refused = claim.kind === "sql" ? raisedGuard(claim.failure) : null;
      if (refused !== null && GUARDS.has(refused.code ?? "")) return { refused };
      rowsOf(claim, `record the ${d.action} of ${migration.name} as started`);
      if (session.persistent) {
        await session.run(timeoutSettings(d.timeouts, "session"));
        // The other runner lost the claim to this one, and lets go of the lock at once.
        if (!held) held = (await session.run(lock.take)).kind === "rows";
      }
      const started = performance.now();
      const failure = await this.statementsIn(
        session,
        splitSqlStatements(migration.sql),
        d.timeouts,
      );
      const executionTimeMs = elapsedSince(started);
      if (failure) {
        return { outcome: await this.recordFailure(d, executionTimeMs, failure, session.unit) };
      }
      rowsOf(
        await this.untilKnown(
          `record ${migration.name} as ${d.done} (its statements all ran)`,
          d.recordSuccess(executionTimeMs),
          session.unit,
        ),
        `record ${migration.name} as ${d.done}`,
      );
      return { outcome: d.succeeded(executionTimeMs) };
    } finally {
      if (held) await session.run(lock.release);
    }
  }

  /**
   * Records a failed attempt, its messages capped (SPEC §3) — unless the change turns out to be
   * made after all, which happens when the answer was lost after the commit: under the unit
   * lock, which waits for a batch still running, the state read is the truth.
   */
  private async recordFailure<O>(
    d: Direction<O>,
    executionTimeMs: number,
    failure: SqlFailure,
    unit: (batch: string) => Promise<Answer> = (batch) => this.transport.unit(batch),
  ): Promise<O | Failed> {
    const error = capFailure(failure);
    const what = `record the failed ${d.action} of ${d.migration.name}`;
    const answer = await this.untilKnown(
      `${what} (${error.message})`,
      d.recordFailure(executionTimeMs, failure.message),
      unit,
    );
    if (answer.kind === "sql" && raisedGuard(answer.failure)?.code === DONE_AFTER_ALL) {
      return d.succeeded(executionTimeMs);
    }
    rowsOf(answer, what);
    return { status: "failed", executionTimeMs, error };
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
    const migrationName = migration.name;
    for (let attempt = 0; ; attempt++) {
      const waited = elapsedSince(started);
      if (waited >= waitMs) throw new LockBusyError(`${holder}, running ${migrationName}`, waited);
      await sleep(Math.min(waitMs - waited, 100 * 1.5 ** Math.min(attempt, 6)));
      const [row] = rowsOf(
        await this.transport.query(
          `select (${inline(t.selectStatus({ migrationName }))}) as status, exists (${inline(t.selectUnfinishedBy({ migrationName }))}) as unfinished`,
        ),
        `read the state of ${migrationName}`,
      );
      if (row?.unfinished === true) continue;
      if (row?.status === "applied") return { status: "already_applied" };
      throw stateConflict(migrationName, typeof row?.status === "string" ? row.status : "absent");
    }
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
  private async statementsIn(
    session: Session,
    statements: readonly SqlStatement[],
    timeouts: Timeouts,
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
      const failure = await this.runStatement(session, text, inTransaction, timeouts);
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
    timeouts: Timeouts,
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
          timeouts,
        );
        failure = withLeftIndexes(failure, left);
        // A retry would take the index still there for a finished one (IF NOT EXISTS).
        if (left.remaining.length > 0) return failure;
      }
      // Within the migration's own transaction a statement cannot be retried alone.
      if (isLockTimeout(failure) && !inTransaction && retry < timeouts.lockRetries) {
        await sleep(retryDelayMs(timeouts, retry));
        continue;
      }
      // A lock given up on: the failure names who holds it — read on this session, whose own
      // locks are then excluded, unless it is inside the migration's failed transaction, which
      // refuses every statement.
      return describeLockTimeout(inTransaction ? null : (sql) => session.run(sql), text, failure, {
        attempts: retry + 1,
        // Over postgres-meta a concurrent build runs with the database's own (`markedSession`).
        lockTimeoutMs: session.persistent || !concurrent ? timeouts.lockTimeoutMs : null,
      });
    }
  }

  /** Repeats a unit whose outcome is unknown, with backoff, until the database answers. */
  private async untilKnown(
    what: string,
    sql: string,
    unit: (batch: string) => Promise<Answer> = (batch) => this.transport.unit(batch),
  ): Promise<Answer> {
    let reason = "not tried";
    for (let attempt = 0; attempt <= this.outcomeRetries; attempt++) {
      if (attempt > 0) await sleep(Math.min(8_000, 250 * 2 ** attempt));
      const answer = await unit(sql);
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
      const check = this.targetCheck ?? this.readTargetCheck();
      this.targetCheck = null;
      const target = await check;
      const refused = targetRefusal(target);
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

  /** The target check's answer (`TARGET_CHECK_SQL`). */
  private async readTargetCheck(): Promise<TargetCheckRow | undefined> {
    const answer = await this.transport.query(TARGET_CHECK_SQL);
    return rowsOf(answer, "check the target")[0] as TargetCheckRow | undefined;
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

/** The interrupted events a bookkeeping batch noted as it wrote them (`INTERRUPTED_NOTED`). */
function interruptedNoted(noted: unknown): InterruptedEventWritten[] {
  if (typeof noted !== "string" || noted === "") return [];
  let rows: {
    migration_name: string;
    action: "apply" | "rollback";
    actor: string | null;
    error_message: string;
  }[];
  try {
    rows = JSON.parse(noted);
  } catch {
    // What the batch committed stands; only its log lines are lost.
    return [];
  }
  if (!Array.isArray(rows)) return [];
  return rows.map((row) => ({
    migrationName: row.migration_name,
    action: row.action,
    actor: row.actor,
    errorMessage: row.error_message,
  }));
}

function md5(text: string): string {
  return createHash("md5").update(text, "utf8").digest("hex");
}

/**
 * A session without one (postgres-meta): each statement, and each unit (the claim, the record),
 * carry the runner's marker, which `pg_stat_activity` shows while they run (or wait for a lock).
 * A statement also carries the run's `lock_timeout` and `statement_timeout` — `SET`s in the same
 * request, which ends with it — as over pg, where they are the session's. That makes the request
 * a transaction block, which a few statements refuse (`CREATE INDEX CONCURRENTLY`, `VACUUM`, …:
 * SQLSTATE 25001, raised before they do anything): those known to (`refusesTransactionBlock`)
 * are sent alone at once, any other is sent again alone when refused, with the database's own
 * time-outs. The few that mean something else inside a block
 * (`alteredByTransactionBlock`) are sent alone at once. A failure's position is counted from
 * the statement, as over pg.
 */
function markedSession(session: Session, marker: string, timeouts: Timeouts): Session {
  const alone = `${marker}\n`;
  const limited = `${alone}${timeoutSettings(timeouts, "session")};\n`;
  const send = async (prefix: string, sql: string, signal?: AbortSignal) =>
    positionedInStatement(await session.run(`${prefix}${sql}`, signal), prefix);
  return {
    persistent: session.persistent,
    run: async (sql, signal) => {
      if (alteredByTransactionBlock(sql) || refusesTransactionBlock(sql)) {
        return send(alone, sql, signal);
      }
      const answer = await send(limited, sql, signal);
      if (answer.kind === "sql" && answer.failure.code === ACTIVE_SQL_TRANSACTION) {
        return send(alone, sql, signal);
      }
      return answer;
    },
    unit: (batch) => session.unit(`${alone}${batch}`),
  };
}

/** SQLSTATE of "… cannot run inside a transaction block". */
const ACTIVE_SQL_TRANSACTION = "25001";

/** A failure's position counted from the statement rather than from `prefix`'s start. */
function positionedInStatement(answer: Answer, prefix: string): Answer {
  if (answer.kind !== "sql" || answer.failure.position === null) return answer;
  const position = answer.failure.position - [...prefix].length;
  return { ...answer, failure: { ...answer.failure, position: position >= 1 ? position : null } };
}

/** How long each statement of {@link keepMarkedStatement} lasts, and how often one starts. */
const SIGN_OF_LIFE = { seconds: 3, everyMs: 2_000 } as const;

/**
 * Sleeps {@link SIGN_OF_LIFE}'s seconds a tenth of a second at a time, committing after each: a
 * plain `select pg_sleep(3)` would hold a snapshot for all three seconds, and `CREATE INDEX
 * CONCURRENTLY` — what such sections are for — waits for every snapshot older than its own (with
 * a short `lock_timeout`, it gives up). That a `COMMIT` in a `DO` block releases the block's
 * snapshot is checked on PostgreSQL 15 and later (`non-transactional.test.ts`); on an older server,
 * past its end of life, it sleeps not at all, and the gaps between requests stay.
 */
const SLEEP_HOLDING_NO_SNAPSHOT = `do $sign_of_life$ begin if pg_catalog.current_setting('server_version_num')::int >= 150000 then for i in 1..${SIGN_OF_LIFE.seconds * 10} loop perform pg_catalog.pg_sleep(0.1); commit; end loop; end if; end $sign_of_life$`;

/**
 * Keeps a statement carrying the runner's marker running — a sleep
 * ({@link SLEEP_HOLDING_NO_SNAPSHOT}), a new one started before the last ends — until stopped.
 * Over postgres-meta a section's statements are requests of their own, each on a new backend, and
 * between two of them (the HTTP round trip, the backend's start) nothing of the runner is active: without this, a migration of short statements shows as
 * interrupted most of the time it runs, and another applier would record it interrupted. Started
 * before the claim, so that the claim's commit finds it running already; stopped after the
 * record, by cancelling this runner's own sleeps (told apart from another runner's by a nonce),
 * so that a finished runner leaves none behind. A runner that dies stops renewing it, and its
 * migration shows interrupted once the last sleep ends, within {@link SIGN_OF_LIFE}'s seconds.
 */
function keepMarkedStatement(
  session: Session,
  marker: string,
): { started: Promise<void>; stop(): Promise<void> } {
  const given = new AbortController();
  const sleeping = `${marker}\n/* ${randomBytes(8).toString("hex")} */ ${SLEEP_HOLDING_NO_SNAPSHOT}`;
  const renew = () => void session.run(sleeping, given.signal);
  renew();
  const timer = setInterval(renew, SIGN_OF_LIFE.everyMs);
  timer.unref();
  // Where the sleep does not sleep (before PostgreSQL 15), there is nothing to wait for.
  const seen = `select pg_catalog.current_setting('server_version_num')::int < 150000 or exists (select from pg_catalog.pg_stat_get_activity(null) a where a.state = 'active' and pg_catalog.starts_with(a.query, ${quoteLiteral(sleeping)})) as active`;
  return {
    // Its request and the claim's race to the database, each on a new backend: the claim waits
    // until the sleep runs (for at most SIGN_OF_LIFE.everyMs), so that no read finds the claim
    // committed and nothing of the runner active.
    started: (async () => {
      const until = performance.now() + SIGN_OF_LIFE.everyMs;
      while (performance.now() < until) {
        const answer = await session.run(seen, AbortSignal.timeout(SIGN_OF_LIFE.everyMs));
        if (answer.kind === "rows" && answer.rows[0]?.active === true) return;
        await sleep(20);
      }
    })(),
    stop: async () => {
      clearInterval(timer);
      given.abort();
      // Not worth waiting long for: a sleep left running ends by itself within seconds.
      await session.run(
        `select pg_catalog.pg_cancel_backend(pid) from pg_catalog.pg_stat_activity where pid <> pg_catalog.pg_backend_pid() and pg_catalog.starts_with(query, ${quoteLiteral(sleeping)})`,
        AbortSignal.timeout(5_000),
      );
    },
  };
}

/** The runner lock of a migration (see RUNNER_LOCK): tried, taken (waiting), let go. */
function runnerLock(migrationName: string) {
  const key = `${RUNNER_LOCK}, pg_catalog.hashtext(${quoteLiteral(migrationName)})`;
  return {
    try: `select pg_catalog.pg_try_advisory_lock(${key}) as locked`,
    take: `select pg_catalog.pg_advisory_lock(${key})`,
    release: `select pg_catalog.pg_advisory_unlock(${key})`,
  };
}

/** What the guards of a claim raise: a refusal, answered by the direction. */
const GUARDS = new Set([
  ALREADY_APPLIED,
  IN_PROGRESS,
  STATE_CONFLICT,
  NOT_APPLIED,
  ROLLBACK_ORDER,
  DRIFTED,
]);

/** A section's end: its outcome, or its claim refused by a guard. */
type SectionResult<O> = { outcome: O | Failed } | { refused: SqlFailure };
