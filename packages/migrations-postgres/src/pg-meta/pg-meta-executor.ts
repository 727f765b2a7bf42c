import { randomUUID } from "node:crypto";
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
  type MigrationEvent,
  type MigrationRecord,
  type MigrationToRun,
  type RollbackOutcome,
  type RollbackRequest,
  rollbackFailedMessage,
  type SqlFailure,
  splitSqlStatements,
  startedMessage,
} from "@studio/migrations-core";
import { attemptEvent, elapsedSince, stateConflict } from "../attempt.ts";
import { DEFAULT_TIMEOUTS, sleep, type Timeouts } from "../sql-failure.ts";
import {
  buildsIndexConcurrently,
  closesTransaction,
  dropLeftIndexes,
  groupByTransaction,
  INVALID_INDEXES_SQL,
  LEFT_OPEN,
  opensTransaction,
  withLeftIndexes,
} from "../statement-by-statement.ts";
import type { SchemaMigrationEventsTable, SchemaMigrationsTable } from "../tracking-database.ts";
import { TRACKING_TABLES_SQL, TRACKING_UPGRADE_SQL } from "../tracking-schema.ts";
import { inline, quoteLiteral, trackingSql as t, toEvent, toRecord } from "../tracking-sql.ts";
import {
  ALREADY_APPLIED,
  ALREADY_ROLLED_BACK,
  applyBatch,
  batch,
  guard,
  IN_PROGRESS,
  NOT_APPLIED,
  revokedAttemptMarker,
  rollbackBatch,
  rollbackRefusal,
  rollbackStartBatch,
  STATE_CONFLICT,
  withinMigration,
} from "../unit-batch.ts";
import {
  type PgMetaResponse,
  PgMetaTransport,
  type PgMetaTransportOptions,
} from "./pg-meta-transport.ts";

export interface PgMetaExecutorOptions extends PgMetaTransportOptions {
  /** `lock_timeout` / `statement_timeout` set for each transactional batch. */
  timeouts?: Partial<Pick<Timeouts, "lockTimeoutMs" | "statementTimeoutMs">>;
  /** When an outcome is unknown, how often to try to establish it before giving up. Default 5. */
  outcomeRetries?: number;
}

const UNDEFINED_TABLE = new Set(["42P01", "3F000"]);

/**
 * An executor over postgres-meta's `POST /query`, which gives every request a fresh connection and
 * runs a multi-statement batch as one implicit transaction. So:
 * - applying (or rolling back) one migration is ONE request: the unit lock
 *   (`pg_advisory_xact_lock`), a guard that raises if it is already applied, the SQL, and the
 *   bookkeeping, in one atomic batch; the time is measured inside it;
 * - no lock can span requests (`lockScope: "per-unit"`): concurrent appliers are serialised per
 *   migration by the unit lock, and the guard makes the loser answer `already_applied`;
 * - a failure is recorded by a second request after the batch rolled back;
 * - after a 408, a dropped connection or an unexpected 5xx the outcome is unknown: the recording
 *   request waits on the unit lock for any batch still running, then reports what the database
 *   holds — `applied` if it committed — rather than guessing;
 * - values are spliced into the batch as `E'…'` literals (the extended protocol, which takes
 *   parameters, refuses multi-statement SQL).
 *
 * `transaction:false` migrations are run honestly: recorded as started in one request, then each
 * statement alone in a request of its own (a single statement is not wrapped in a transaction
 * block, so `CREATE INDEX CONCURRENTLY` works), then the outcome. They cost one request per
 * statement plus two, and run without the executor's `lock_timeout` (a request cannot carry a
 * session setting and stay a single statement).
 */
export class PgMetaExecutor implements Executor {
  readonly kind = "pg-meta";
  readonly lockScope = "per-unit";
  private readonly transport: PgMetaTransport;
  private readonly timeouts: Timeouts;
  private readonly outcomeRetries: number;
  private trackingTablesExist = false;

  constructor(options: PgMetaExecutorOptions) {
    this.transport = new PgMetaTransport(options);
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    this.outcomeRetries = options.outcomeRetries ?? 5;
  }

  async readState(): Promise<MigrationRecord[]> {
    const response = await this.transport.query(inline(t.selectRecords()));
    if (response.kind === "sql" && UNDEFINED_TABLE.has(response.failure.code ?? "")) return [];
    const rows = expectRows(response, "read the migration state");
    return rows.map((row) => toRecord(row as unknown as RecordRow));
  }

  async readEvents(query: EventQuery): Promise<MigrationEvent[]> {
    // Its filters vary, so it is built by Kysely, loaded only when the history is asked for.
    const { inlineQueries } = await import("../tracking-queries.ts");
    const response = await this.transport.query(inlineQueries.selectEvents(query).sql);
    if (response.kind === "sql" && UNDEFINED_TABLE.has(response.failure.code ?? "")) return [];
    return expectRows(response, "read the audit trail").map((row) =>
      toEvent(row as unknown as EventRow),
    );
  }

  /** Each unit locks for itself; there is no connection to hold a run lock on. */
  async acquireLock(): Promise<LockHandle> {
    return { release: async () => {} };
  }

  async applyMigration({ migration, actor, claimWaitMs = 0 }: ApplyRequest): Promise<ApplyOutcome> {
    await this.ensureTrackingTables();
    if (!migration.transactional) {
      return this.applyStatementByStatement(migration, actor, claimWaitMs);
    }
    const started = performance.now();
    // Over HTTP a request can reach the database after the client gave up on it: the attempt's
    // id lets the failure recorded for it stop such a late copy from running.
    const attempt = randomUUID().slice(0, 13);
    const unit = applyBatch(migration, actor, this.timeouts, { attempt, offset: 0 });
    const response = await this.transport.query(unit.sql);
    const clientMs = elapsedSince(started);
    switch (response.kind) {
      case "rows":
        return {
          status: "applied",
          executionTimeMs: Number(response.rows.at(-1)?.execution_time_ms ?? clientMs),
        };
      case "sql":
        if (response.failure.code === ALREADY_APPLIED) return { status: "already_applied" };
        return this.recordApplyFailure(
          migration,
          actor,
          clientMs,
          withinMigration(response.failure, unit),
        );
      case "unavailable":
        throw new ExecutorUnavailableError(
          `Could not apply ${migration.name}: ${response.reason}; nothing ran.`,
        );
      case "unknown":
        return this.recordApplyFailure(
          migration,
          actor,
          clientMs,
          unknownOutcome(
            `${response.reason}; the outcome was checked afterwards and the change did not commit; should the request still arrive, it will not run ${revokedAttemptMarker(attempt)}`,
          ),
        );
    }
  }

  async rollbackMigration({ migration, actor }: RollbackRequest): Promise<RollbackOutcome> {
    await this.ensureTrackingTables();
    if (!migration.transactional) return this.rollbackStatementByStatement(migration, actor);
    const started = performance.now();
    const unit = rollbackBatch(migration, actor, this.timeouts, { offset: 0 });
    const response = await this.transport.query(unit.sql);
    const clientMs = elapsedSince(started);
    switch (response.kind) {
      case "rows":
        return {
          status: "rolled_back",
          executionTimeMs: Number(response.rows.at(-1)?.execution_time_ms ?? clientMs),
        };
      case "sql": {
        if (response.failure.code === NOT_APPLIED) return { status: "not_applied" };
        const refused = rollbackRefusal(response.failure, migration.name);
        if (refused) throw refused;
        return this.recordRollbackFailure(
          migration,
          actor,
          clientMs,
          withinMigration(response.failure, unit),
        );
      }
      case "unavailable":
        throw new ExecutorUnavailableError(
          `Could not roll back ${migration.name}: ${response.reason}; nothing ran.`,
        );
      case "unknown":
        return this.recordRollbackFailure(
          migration,
          actor,
          clientMs,
          unknownOutcome(
            `${response.reason}; the outcome was checked afterwards and the change did not commit`,
          ),
        );
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
    const response = await this.transport.query(batch(...statements));
    if (response.kind === "sql" && response.failure.code === STATE_CONFLICT) {
      const [name = "", status = "unknown"] = response.failure.message.split(" is ");
      throw stateConflict(name, status);
    }
    expectRows(response, "record the change");
  }

  async close(): Promise<void> {}

  /** Records a failed apply, or finds it applied after all; retried while the outcome is unknown. */
  private async recordApplyFailure(
    migration: MigrationToRun,
    actor: string,
    executionTimeMs: number,
    failure: SqlFailure,
  ): Promise<ApplyOutcome> {
    const response = await this.untilKnown(
      `record the failure of ${migration.name} (${failure.message})`,
      () =>
        this.transport.query(
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
                // A transaction that rolled back left nothing of what it ran; statements run one by
                // one may have left part of theirs.
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
        ),
    );
    if (response.kind === "sql" && response.failure.code === ALREADY_APPLIED)
      return { status: "applied", executionTimeMs };
    expectRows(response, `record the failure of ${migration.name}`);
    return { status: "failed", executionTimeMs, error: failure };
  }

  private async recordRollbackFailure(
    migration: MigrationToRun,
    actor: string,
    executionTimeMs: number,
    failure: SqlFailure,
  ): Promise<RollbackOutcome> {
    const response = await this.untilKnown(
      `record the failed rollback of ${migration.name} (${failure.message})`,
      () =>
        this.transport.query(
          batch(
            inline(t.lockUnit()),
            guard(
              `(${inline(t.selectStatus(migration.name))}) = 'rolled_back'`,
              ALREADY_ROLLED_BACK,
              "already rolled back",
            ),
            // Outside a transaction, the statements before the failing one stay done.
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
                attemptEvent(
                  migration,
                  "rollback",
                  "failed",
                  actor,
                  executionTimeMs,
                  failure.message,
                ),
              ),
            ),
            "select 'failed' as outcome",
          ),
        ),
    );
    if (response.kind === "sql" && response.failure.code === ALREADY_ROLLED_BACK)
      return { status: "rolled_back", executionTimeMs };
    expectRows(response, `record the failed rollback of ${migration.name}`);
    return { status: "failed", executionTimeMs, error: failure };
  }

  private async applyStatementByStatement(
    migration: MigrationToRun,
    actor: string,
    claimWaitMs: number,
  ): Promise<ApplyOutcome> {
    const begin = await this.transport.query(
      batch(
        inline(t.lockUnit()),
        guard(
          `(${inline(t.selectStatus(migration.name))}) = 'applied'`,
          ALREADY_APPLIED,
          "already applied",
        ),
        // No run lock spans requests here, so the started row is the claim: an applier that
        // planned before another's claim must not run the statements a second time.
        guard(
          `exists (${inline(t.selectUnfinishedBy(migration.name))})`,
          IN_PROGRESS,
          `coalesce((${inline(t.selectUnfinishedBy(migration.name))}), 'another applier')`,
          true,
        ),
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
    if (begin.kind === "sql" && begin.failure.code === ALREADY_APPLIED)
      return { status: "already_applied" };
    if (begin.kind === "sql" && begin.failure.code === IN_PROGRESS) {
      return this.awaitClaim(migration, begin.failure.message, claimWaitMs);
    }
    expectRows(begin, `record ${migration.name} as started`);

    const started = performance.now();
    const failure = await this.runStatements(migration.sql);
    const executionTimeMs = elapsedSince(started);
    if (failure) return this.recordApplyFailure(migration, actor, executionTimeMs, failure);
    const done = await this.untilKnown(
      `record ${migration.name} as applied (its statements all ran)`,
      () =>
        this.transport.query(
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
        ),
    );
    expectRows(done, `record ${migration.name} as applied`);
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
      const [row] = expectRows(
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

  private async rollbackStatementByStatement(
    migration: MigrationToRun,
    actor: string,
  ): Promise<RollbackOutcome> {
    // Checked and claimed in one request under the unit lock: a second rollback racing this one
    // finds the claim and runs nothing.
    const begin = await this.transport.query(rollbackStartBatch(migration, actor));
    if (begin.kind === "sql") {
      if (begin.failure.code === NOT_APPLIED) return { status: "not_applied" };
      const refused = rollbackRefusal(begin.failure, migration.name);
      if (refused) throw refused;
    }
    expectRows(begin, `record the rollback of ${migration.name} as started`);
    const started = performance.now();
    const failure = await this.runStatements(migration.sql);
    const executionTimeMs = elapsedSince(started);
    if (failure) return this.recordRollbackFailure(migration, actor, executionTimeMs, failure);
    const done = await this.untilKnown(`record ${migration.name} as rolled back`, () =>
      this.transport.query(
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
      ),
    );
    expectRows(done, `record ${migration.name} as rolled back`);
    return { status: "rolled_back", executionTimeMs };
  }

  /**
   * Each statement alone, one request each — but a transaction the migration runs itself
   * (`BEGIN` … `COMMIT`) as one request, since no session spans requests; the first that does not
   * succeed ends the run. A concurrent index build that fails has the INVALID index it left
   * dropped.
   */
  private async runStatements(script: string): Promise<SqlFailure | null> {
    for (const group of groupByTransaction(splitSqlStatements(script))) {
      const [first] = group;
      const own = group.length > 1 || (first !== undefined && opensTransaction(first.text));
      if (own && !closesTransaction(group.at(-1)?.text ?? "")) return LEFT_OPEN;
      const text = group.map((statement) => statement.text).join(";\n");
      const invalidBefore =
        !own && buildsIndexConcurrently(text) ? await this.invalidIndexes() : null;
      const response = await this.transport.query(text);
      if (response.kind === "rows") continue;
      let failure: SqlFailure;
      if (response.kind === "sql") failure = response.failure;
      // Outside a transaction nothing is rolled back and no check can tell whether a lost
      // statement ran: say so, rather than the batch's "did not commit".
      else if (response.kind === "unavailable")
        failure = lostStatement(`${response.reason}; this statement did not run`);
      else
        failure = lostStatement(
          `${response.reason}; this statement may or may not have run (outside a transaction, nothing was rolled back): inspect the database`,
        );
      if (invalidBefore && response.kind === "sql") {
        const left = await dropLeftIndexes(
          [...(await this.invalidIndexes())].filter((name) => !invalidBefore.has(name)),
          async (drop) => {
            const dropped = await this.transport.query(drop);
            if (dropped.kind === "rows") return null;
            return dropped.kind === "sql" ? dropped.failure : lostStatement(dropped.reason);
          },
          this.timeouts,
        );
        failure = withLeftIndexes(failure, left);
      }
      return failure;
    }
    return null;
  }

  private async invalidIndexes(): Promise<Set<string>> {
    const rows = expectRows(
      await this.transport.query(INVALID_INDEXES_SQL),
      "read the INVALID indexes",
    );
    return new Set(rows.map((row) => String(row.name)));
  }

  /** Repeats a request whose outcome is unknown, with backoff, until the database answers. */
  private async untilKnown(
    what: string,
    request: () => Promise<PgMetaResponse>,
  ): Promise<PgMetaResponse> {
    let reason = "not tried";
    for (let attempt = 0; attempt <= this.outcomeRetries; attempt++) {
      if (attempt > 0) await sleep(Math.min(8_000, 250 * 2 ** attempt));
      const response = await request();
      if (response.kind === "rows" || response.kind === "sql") return response;
      reason = response.reason;
    }
    throw new ExecutorUnavailableError(`Could not ${what}: ${reason}.`, {
      hint: "The database did not answer; check the migration's state before retrying.",
    });
  }

  /**
   * Creates the tracking tables, or adds the columns this version records, if they are missing:
   * one request, once per executor, before its first write.
   */
  private async ensureTrackingTables(): Promise<void> {
    if (this.trackingTablesExist) return;
    const response = await this.transport.query(
      batch(
        inline(t.lockUnit()),
        TRACKING_TABLES_SQL,
        TRACKING_UPGRADE_SQL,
        "select true as exist",
      ),
    );
    expectRows(response, "create the tracking tables");
    this.trackingTablesExist = true;
  }

  /** `adopt`: another tool's history (see `Executor.readForeignVersions`): two requests. */
  async readForeignVersions(source: ForeignHistorySource): Promise<ForeignVersions> {
    const { guardForeignRead, readForeignVersionsWith } = await import("../foreign-versions.ts");
    return guardForeignRead(source, () =>
      readForeignVersionsWith(
        source,
        async <R>(query: { sql: string; parameters: readonly unknown[] }) =>
          expectRows(
            await this.transport.query(inline(query)),
            `read the ${source.kind} history`,
          ) as R[],
      ),
    );
  }
}

type RecordRow = Parameters<typeof toRecord>[0] & Partial<SchemaMigrationsTable>;
type EventRow = Parameters<typeof toEvent>[0] & Partial<SchemaMigrationEventsTable>;

export function createPgMetaExecutor(options: PgMetaExecutorOptions): Executor {
  return new PgMetaExecutor(options);
}

function expectRows(response: PgMetaResponse, what: string): Record<string, unknown>[] {
  if (response.kind === "rows") return response.rows;
  const reason = response.kind === "sql" ? response.failure.message : response.reason;
  throw new ExecutorUnavailableError(`Could not ${what}: ${reason}`);
}

function unknownOutcome(message: string): SqlFailure {
  return {
    message,
    code: null,
    detail: null,
    hint: null,
    position: null,
  };
}

function lostStatement(message: string): SqlFailure {
  return { message, code: null, detail: null, hint: null, position: null };
}
