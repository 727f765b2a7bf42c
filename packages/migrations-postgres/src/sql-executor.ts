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
  StateConflictError,
  splitSqlStatements,
  startedMessage,
} from "@studio/migrations-core";
import type { CompiledQuery } from "kysely";
import { attemptEvent, elapsedSince, stateConflict } from "./attempt.ts";
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
  INVALID_INDEXES_SQL,
  LEFT_OPEN,
  opensTransaction,
  withLeftIndexes,
} from "./statement-by-statement.ts";
import { TRACKING_TABLES_SQL, TRACKING_UPGRADE_SQL } from "./tracking-schema.ts";
import { trackingSql as q, type SqlQuery, toEvent, toRecord } from "./tracking-sql.ts";
import {
  ALREADY_APPLIED,
  applyBatch,
  NOT_APPLIED,
  rollbackBatch,
  rollbackRefusal,
  rollbackStartBatch,
  type UnitBatch,
  withinMigration,
} from "./unit-batch.ts";

/** One database connection, as the shared executor uses it. */
export interface SqlConnection {
  /** A typed, parameterised query (Kysely-compiled, or precompiled in `tracking-sql.ts`). */
  query<R>(query: SqlQuery<R> | CompiledQuery<R>): Promise<R[]>;
  /** SQL text that may hold several statements and takes no parameters (a migration's SQL). */
  script(sql: string): Promise<void>;
}

/** How a database is reached: transactions, and single connections outside one. */
export interface SqlTransport {
  /** Runs `work` in one transaction on one connection: committed if it returns, rolled back if it throws. */
  transaction<T>(work: (connection: SqlConnection) => Promise<T>): Promise<T>;
  /** Runs `work` on one connection outside a transaction (each statement commits on its own). */
  session<T>(work: (connection: SqlConnection) => Promise<T>): Promise<T>;
  /**
   * Runs a batch of statements (no parameters) as one transaction, in as few round trips as the
   * database allows, and answers the rows of the last statement that returned any. Committed if
   * it succeeds, rolled back if it fails.
   */
  unit(sql: string): Promise<Record<string, unknown>[]>;
  /**
   * Characters the transport puts before a unit's SQL in what it sends (a `begin`), which error
   * positions count from.
   */
  readonly unitOffset: number;
  close(): Promise<void>;
}

export interface SqlExecutorOptions {
  kind: string;
  transport: SqlTransport;
  acquireRunLock: (options: LockOptions) => Promise<LockHandle>;
  timeouts: Timeouts;
}

const UNDEFINED_TABLE = new Set(["42P01", "3F000"]);

/**
 * The executor for databases reached over a real connection (`pg`, PGlite): each unit is one
 * transaction that takes the unit lock, checks the recorded state, runs the SQL and writes the
 * bookkeeping — sent as one batch (`unit-batch.ts`), so that over `pg` applying a migration costs
 * one round trip, as the SQL alone would; a failure is recorded afterwards, in a transaction of
 * its own, so it survives the rollback. Every bookkeeping query is Kysely-typed
 * (`tracking-queries.ts`; those every run needs are precompiled in `tracking-sql.ts`).
 */
export class SqlExecutor implements Executor {
  readonly kind: string;
  readonly lockScope = "session";
  private readonly transport: SqlTransport;
  private readonly timeouts: Timeouts;
  private readonly runLock: (options: LockOptions) => Promise<LockHandle>;
  private trackingTables: Promise<void> | null = null;

  constructor(options: SqlExecutorOptions) {
    this.kind = options.kind;
    this.transport = options.transport;
    this.timeouts = options.timeouts;
    this.runLock = options.acquireRunLock;
  }

  async readState(): Promise<MigrationRecord[]> {
    try {
      const rows = await this.transport.session((c) => c.query(q.selectRecords()));
      return rows.map(toRecord);
    } catch (error) {
      if (UNDEFINED_TABLE.has(toSqlFailure(error).code ?? "")) return [];
      throw unavailable("read the migration state", error);
    }
  }

  async readEvents(query: EventQuery): Promise<MigrationEvent[]> {
    // Its filters vary, so it is built by Kysely, loaded only when the history is asked for.
    const { parameterisedQueries } = await import("./tracking-queries.ts");
    try {
      const rows = await this.transport.session((c) =>
        c.query(parameterisedQueries.selectEvents(query)),
      );
      return rows.map(toEvent);
    } catch (error) {
      if (UNDEFINED_TABLE.has(toSqlFailure(error).code ?? "")) return [];
      throw unavailable("read the audit trail", error);
    }
  }

  acquireLock(options: LockOptions): Promise<LockHandle> {
    return this.runLock(options);
  }

  async applyMigration({ migration, actor }: ApplyRequest): Promise<ApplyOutcome> {
    await this.ensureTrackingTables();
    if (!migration.transactional) return this.applyStatementByStatement(migration, actor);

    for (let attempt = 0; ; attempt++) {
      const started = performance.now();
      const unit = applyBatch(migration, actor, this.timeouts, {
        offset: this.transport.unitOffset,
      });
      try {
        const rows = await this.transport.unit(unit.sql);
        return { status: "applied", executionTimeMs: executionTime(rows, started) };
      } catch (error) {
        const failure = this.failureOf(error, unit);
        if (failure.code === ALREADY_APPLIED) return { status: "already_applied" };
        if (isLockTimeout(failure) && attempt < this.timeouts.lockRetries) {
          await sleep(retryDelayMs(this.timeouts, attempt));
          continue;
        }
        return this.recordApplyFailure(migration, actor, elapsedSince(started), failure);
      }
    }
  }

  async rollbackMigration({ migration, actor }: RollbackRequest): Promise<RollbackOutcome> {
    await this.ensureTrackingTables();
    if (!migration.transactional) return this.rollbackStatementByStatement(migration, actor);
    for (let attempt = 0; ; attempt++) {
      const started = performance.now();
      const unit = rollbackBatch(migration, actor, this.timeouts, {
        offset: this.transport.unitOffset,
      });
      try {
        const rows = await this.transport.unit(unit.sql);
        return { status: "rolled_back", executionTimeMs: executionTime(rows, started) };
      } catch (error) {
        const failure = this.failureOf(error, unit);
        if (failure.code === NOT_APPLIED) return { status: "not_applied" };
        const refused = rollbackRefusal(failure, migration.name);
        if (refused) throw refused;
        if (isLockTimeout(failure) && attempt < this.timeouts.lockRetries) {
          await sleep(retryDelayMs(this.timeouts, attempt));
          continue;
        }
        return this.recordRollbackFailure(migration, actor, elapsedSince(started), failure);
      }
    }
  }

  async recordChanges(changes: readonly Bookkeeping[], actor: string): Promise<void> {
    if (changes.length === 0) return;
    await this.ensureTrackingTables();
    // A list of names of any length: built by Kysely, loaded only for bookkeeping runs.
    const { parameterisedQueries } = await import("./tracking-queries.ts");
    try {
      await this.transport.transaction(async (c) => {
        await c.query(q.lockUnit());
        const rows = await c.query(
          parameterisedQueries.selectStatuses(changes.map((change) => change.migrationName)),
        );
        const current = new Map(rows.map((r) => [r.migration_name, r.status]));
        for (const change of changes) {
          const status = current.get(change.migrationName) ?? "absent";
          if (!change.expect.includes(status)) throw stateConflict(change.migrationName, status);
        }
        for (const change of changes) {
          let checksum: string | null = null;
          if (change.kind === "mark_applied") {
            checksum = change.checksum;
            await c.query(
              q.upsertApplied({
                migrationName: change.migrationName,
                actor,
                checksum,
                executionTimeMs: null,
                upSql: null,
                transactional: null,
              }),
            );
          } else if (change.kind === "mark_rolled_back") {
            await c.query(q.markRolledBack({ migrationName: change.migrationName, actor }));
          } else {
            checksum = change.checksum;
            await c.query(q.setChecksum({ migrationName: change.migrationName, checksum }));
          }
          await c.query(
            q.insertEvent({
              migrationName: change.migrationName,
              action: change.action,
              outcome: "succeeded",
              actor,
              executionTimeMs: null,
              errorMessage: change.kind === "mark_applied" ? (change.note ?? null) : null,
              checksum,
            }),
          );
        }
      });
    } catch (error) {
      if (error instanceof StateConflictError) throw error;
      throw unavailable("record the change", error);
    }
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  /** What the database said about a unit, positions counted from the migration's own SQL. */
  private failureOf(error: unknown, unit: UnitBatch): SqlFailure {
    return withinMigration(toSqlFailure(error), unit, this.transport.unitOffset);
  }

  /** Takes the unit lock, then reads the migration's recorded status under it. */
  private async lockedStatus(c: SqlConnection, migrationName: string): Promise<string | null> {
    await c.query(q.lockUnit());
    const [row] = await c.query(q.selectStatus(migrationName));
    return row?.status ?? null;
  }

  /**
   * Records a failed apply — unless the migration turns out to be applied after all, which
   * happens when the connection died after the commit was sent: under the unit lock, the state
   * read here is the truth.
   */
  private async recordApplyFailure(
    migration: MigrationToRun,
    actor: string,
    executionTimeMs: number,
    failure: SqlFailure,
  ): Promise<ApplyOutcome> {
    try {
      return await this.transport.transaction(async (c): Promise<ApplyOutcome> => {
        if ((await this.lockedStatus(c, migration.name)) === "applied")
          return { status: "applied", executionTimeMs };
        await c.query(
          q.upsertFailed({
            migrationName: migration.name,
            actor,
            checksum: migration.checksum,
            executionTimeMs,
            errorMessage: failure.message,
            // A transaction that rolled back left nothing of what it ran; statements run one by
            // one may have left part of theirs.
            upSql: migration.transactional ? null : migration.sql,
            transactional: migration.transactional,
          }),
        );
        await c.query(
          q.insertEvent(
            attemptEvent(migration, "apply", "failed", actor, executionTimeMs, failure.message),
          ),
        );
        return { status: "failed", executionTimeMs, error: failure };
      });
    } catch (error) {
      throw unavailable(`record the failure of ${migration.name} (${failure.message})`, error);
    }
  }

  private async recordRollbackFailure(
    migration: MigrationToRun,
    actor: string,
    executionTimeMs: number,
    failure: SqlFailure,
  ): Promise<RollbackOutcome> {
    try {
      return await this.transport.transaction(async (c): Promise<RollbackOutcome> => {
        if ((await this.lockedStatus(c, migration.name)) === "rolled_back")
          return { status: "rolled_back", executionTimeMs };
        // Outside a transaction, the statements before the failing one stay done: the row says so.
        if (!migration.transactional) {
          await c.query(
            q.markRollbackAttempt({
              migrationName: migration.name,
              errorMessage: rollbackFailedMessage(failure.message),
              executionTimeMs,
            }),
          );
        }
        await c.query(
          q.insertEvent(
            attemptEvent(migration, "rollback", "failed", actor, executionTimeMs, failure.message),
          ),
        );
        return { status: "failed", executionTimeMs, error: failure };
      });
    } catch (error) {
      throw unavailable(
        `record the failed rollback of ${migration.name} (${failure.message})`,
        error,
      );
    }
  }

  /**
   * `transaction:false`: recorded as started (a `failed` row without a time) in its own commit,
   * then each statement alone on one connection, then the outcome. A crash in between leaves the
   * row showing the migration interrupted.
   */
  private async applyStatementByStatement(
    migration: MigrationToRun,
    actor: string,
  ): Promise<ApplyOutcome> {
    const begun = await this.transport.transaction(async (c) => {
      if ((await this.lockedStatus(c, migration.name)) === "applied") return false;
      // The started row is the claim. The run lock normally keeps a second applier from getting
      // here, but a run lock can be lost (its session terminated); one that planned before this
      // claim must not run the statements a second time. (The planner refuses a migration that
      // was already interrupted when it planned, so an unfinished row here is a live claim.)
      const [claim] = await c.query(q.selectUnfinishedBy(migration.name));
      if (claim) {
        throw new LockBusyError(
          `${claim.applied_by ?? "another applier"}, running ${migration.name}`,
          0,
        );
      }
      await c.query(
        q.upsertFailed({
          migrationName: migration.name,
          actor,
          checksum: migration.checksum,
          executionTimeMs: null,
          errorMessage: startedMessage(actor),
          upSql: migration.sql,
          transactional: false,
        }),
      );
      return true;
    });
    if (!begun) return { status: "already_applied" };

    const started = performance.now();
    const failure = await this.runStatements(migration.sql);
    const executionTimeMs = elapsedSince(started);
    if (failure) return this.recordApplyFailure(migration, actor, executionTimeMs, failure);
    try {
      await this.transport.transaction(async (c) => {
        await c.query(q.lockUnit());
        await c.query(
          q.upsertApplied({
            migrationName: migration.name,
            actor,
            checksum: migration.checksum,
            executionTimeMs,
            upSql: migration.sql,
            transactional: false,
          }),
        );
        await c.query(
          q.insertEvent(
            attemptEvent(migration, "apply", "succeeded", actor, executionTimeMs, null),
          ),
        );
      });
    } catch (error) {
      throw unavailable(`record ${migration.name} as applied (its statements all ran)`, error);
    }
    return { status: "applied", executionTimeMs };
  }

  private async rollbackStatementByStatement(
    migration: MigrationToRun,
    actor: string,
  ): Promise<RollbackOutcome> {
    // Checked and claimed under the unit lock, as a transactional rollback's unit checks it.
    try {
      await this.transport.unit(rollbackStartBatch(migration, actor));
    } catch (error) {
      const failure = toSqlFailure(error);
      if (failure.code === NOT_APPLIED) return { status: "not_applied" };
      const refused = rollbackRefusal(failure, migration.name);
      if (refused) throw refused;
      throw unavailable(`record the rollback of ${migration.name} as started`, error);
    }
    const started = performance.now();
    const failure = await this.runStatements(migration.sql);
    const executionTimeMs = elapsedSince(started);
    if (failure) return this.recordRollbackFailure(migration, actor, executionTimeMs, failure);
    try {
      await this.transport.transaction(async (c) => {
        await c.query(q.lockUnit());
        await c.query(q.markRolledBack({ migrationName: migration.name, actor }));
        await c.query(
          q.insertEvent(
            attemptEvent(migration, "rollback", "succeeded", actor, executionTimeMs, null),
          ),
        );
      });
    } catch (error) {
      throw unavailable(
        `record ${migration.name} as rolled back (its down section's statements all ran)`,
        error,
      );
    }
    return { status: "rolled_back", executionTimeMs };
  }

  /**
   * Each statement alone, outside a transaction (but in one the migration opens itself), on one
   * connection; a `lock_timeout` retries that statement. A failure rolls back a transaction the
   * migration opened; so does a section that opens one and never ends it, which is a failure. A
   * concurrent index build that fails has the INVALID index it left dropped — before a retry
   * too, which `IF NOT EXISTS` would otherwise take for the finished index.
   */
  private async runStatements(sql: string): Promise<SqlFailure | null> {
    const statements = splitSqlStatements(sql);
    try {
      return await this.transport.session(async (c) => {
        await c.script(timeoutSettings(this.timeouts, "session"));
        let inTransaction = false;
        for (const statement of statements) {
          const failure = await this.runStatement(c, statement.text, inTransaction);
          if (failure) {
            // Ends the migration's own transaction, if one is open (a warning otherwise).
            await c.script("rollback").catch(() => {});
            return failure;
          }
          if (opensTransaction(statement.text)) inTransaction = true;
          else if (closesTransaction(statement.text)) inTransaction = false;
        }
        if (inTransaction) {
          await c.script("rollback");
          return LEFT_OPEN;
        }
        return null;
      });
    } catch (error) {
      return toSqlFailure(error);
    }
  }

  private async runStatement(
    c: SqlConnection,
    text: string,
    inTransaction: boolean,
  ): Promise<SqlFailure | null> {
    const concurrent = !inTransaction && buildsIndexConcurrently(text);
    const invalid = async () =>
      new Set(
        (await c.query<{ name: string }>({ sql: INVALID_INDEXES_SQL, parameters: [] })).map(
          (r) => r.name,
        ),
      );
    for (let attempt = 0; ; attempt++) {
      const invalidBefore = concurrent ? await invalid() : null;
      try {
        await c.script(text);
        return null;
      } catch (error) {
        let failure = toSqlFailure(error);
        if (invalidBefore) {
          const left = await dropLeftIndexes(
            [...(await invalid())].filter((name) => !invalidBefore.has(name)),
            (drop) =>
              c.script(drop).then(
                () => null,
                (error: unknown) => toSqlFailure(error),
              ),
            this.timeouts,
          );
          failure = withLeftIndexes(failure, left);
          // A retry would take the index still there for a finished one (IF NOT EXISTS).
          if (left.remaining.length > 0) return failure;
        }
        // Within the migration's own transaction a statement cannot be retried alone.
        if (isLockTimeout(failure) && !inTransaction && attempt < this.timeouts.lockRetries) {
          await sleep(retryDelayMs(this.timeouts, attempt));
          continue;
        }
        return failure;
      }
    }
  }

  /**
   * Creates the tracking tables (the same objects as migration 000) if they are missing, once
   * per executor, so the very first attempt has somewhere to be recorded.
   */
  private ensureTrackingTables(): Promise<void> {
    this.trackingTables ??= this.transport
      .transaction(async (c) => {
        const [row] = await c.query(q.trackingTablesExist());
        if (row?.exist) return;
        await c.query(q.lockUnit());
        await c.script(`${TRACKING_TABLES_SQL};\n${TRACKING_UPGRADE_SQL}`);
      })
      .catch((error: unknown) => {
        this.trackingTables = null;
        throw unavailable("create the tracking tables", error);
      });
    return this.trackingTables;
  }

  /** `adopt`: another tool's history (see `Executor.readForeignVersions`), on one connection. */
  async readForeignVersions(source: ForeignHistorySource): Promise<ForeignVersions> {
    const { guardForeignRead, readForeignVersionsWith } = await import("./foreign-versions.ts");
    return guardForeignRead(source, () =>
      this.transport.session((c) => readForeignVersionsWith(source, (query) => c.query(query))),
    );
  }
}

function unavailable(what: string, error: unknown): ExecutorUnavailableError {
  const failure = toSqlFailure(error);
  return new ExecutorUnavailableError(`Could not ${what}: ${failure.message}`, { cause: error });
}

/** The time measured inside the batch, or on this side if its answer did not carry it. */
function executionTime(rows: Record<string, unknown>[], started: number): number {
  const measured = Number(rows.at(-1)?.execution_time_ms);
  return Number.isFinite(measured) ? measured : elapsedSince(started);
}
