import {
  type ApplyOutcome,
  type ApplyRequest,
  type Bookkeeping,
  type EventQuery,
  type Executor,
  ExecutorUnavailableError,
  type LockHandle,
  type MigrationEvent,
  type MigrationRecord,
  type MigrationToRun,
  type RollbackOutcome,
  type RollbackRequest,
  type SqlFailure,
  splitSqlStatements,
  startedMessage,
} from "@studio/migrations-core";
import { sql } from "kysely";
import { attemptEvent, elapsedSince, stateConflict } from "../attempt.ts";
import { DEFAULT_TIMEOUTS, sleep, type Timeouts, timeoutSettings } from "../sql-failure.ts";
import type { SchemaMigrationEventsTable, SchemaMigrationsTable } from "../tracking-database.ts";
import { inlineQueries as b, quoteLiteral, toEvent, toRecord } from "../tracking-queries.ts";
import { TRACKING_TABLES_SQL } from "../tracking-schema.ts";
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

// SQLSTATEs of our own, raised by the guards at the head of a batch.
const ALREADY_APPLIED = "SMAAP";
const NOT_APPLIED = "SMNAP";
const ALREADY_ROLLED_BACK = "SMRBK";
const STATE_CONFLICT = "SMCON";
const UNDEFINED_TABLE = new Set(["42P01", "3F000"]);

const STARTED_SETTING = "studio_migrations.started";
const ELAPSED_MS = `(extract(epoch from clock_timestamp() - current_setting('${STARTED_SETTING}')::timestamptz) * 1000)::int`;

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
    const response = await this.transport.query(b.selectRecords().sql);
    if (response.kind === "sql" && UNDEFINED_TABLE.has(response.failure.code ?? "")) return [];
    const rows = expectRows(response, "read the migration state");
    this.trackingTablesExist = true;
    return rows.map((row) => toRecord(row as unknown as RecordRow));
  }

  async readEvents(query: EventQuery): Promise<MigrationEvent[]> {
    const response = await this.transport.query(b.selectEvents(query).sql);
    if (response.kind === "sql" && UNDEFINED_TABLE.has(response.failure.code ?? "")) return [];
    return expectRows(response, "read the audit trail").map((row) =>
      toEvent(row as unknown as EventRow),
    );
  }

  /** Each unit locks for itself; there is no connection to hold a run lock on. */
  async acquireLock(): Promise<LockHandle> {
    return { release: async () => {} };
  }

  async applyMigration({ migration, actor }: ApplyRequest): Promise<ApplyOutcome> {
    await this.ensureTrackingTables();
    if (!migration.transactional) return this.applyStatementByStatement(migration, actor);
    const started = performance.now();
    const response = await this.transport.query(
      batch(
        timeoutSettings(this.timeouts, "local"),
        b.lockUnit().sql,
        guard(
          `(${b.selectStatus(migration.name).sql}) = 'applied'`,
          ALREADY_APPLIED,
          "already applied",
        ),
        `select set_config('${STARTED_SETTING}', clock_timestamp()::text, true)`,
        `${migration.sql}\n`,
        b.upsertApplied({
          migrationName: migration.name,
          actor,
          checksum: migration.checksum,
          executionTimeMs: sql.raw(ELAPSED_MS),
        }).sql,
        b.insertEvent(
          attemptEvent(migration, "apply", "succeeded", actor, sql.raw(ELAPSED_MS), null),
        ).sql,
        `select 'applied' as outcome, ${ELAPSED_MS} as execution_time_ms`,
      ),
    );
    const clientMs = elapsedSince(started);
    switch (response.kind) {
      case "rows":
        return {
          status: "applied",
          executionTimeMs: Number(response.rows.at(-1)?.execution_time_ms ?? clientMs),
        };
      case "sql":
        if (response.failure.code === ALREADY_APPLIED) return { status: "already_applied" };
        return this.recordApplyFailure(migration, actor, clientMs, response.failure);
      case "unavailable":
        throw new ExecutorUnavailableError(
          `Could not apply ${migration.name}: ${response.reason}; nothing ran.`,
        );
      case "unknown":
        return this.recordApplyFailure(migration, actor, clientMs, unknownOutcome(response.reason));
    }
  }

  async rollbackMigration({ migration, actor }: RollbackRequest): Promise<RollbackOutcome> {
    await this.ensureTrackingTables();
    if (!migration.transactional) return this.rollbackStatementByStatement(migration, actor);
    const started = performance.now();
    const response = await this.transport.query(
      batch(
        timeoutSettings(this.timeouts, "local"),
        b.lockUnit().sql,
        guard(
          `coalesce((${b.selectStatus(migration.name).sql}), 'absent') <> 'applied'`,
          NOT_APPLIED,
          "not applied",
        ),
        `select set_config('${STARTED_SETTING}', clock_timestamp()::text, true)`,
        `${migration.sql}\n`,
        b.markRolledBack({ migrationName: migration.name, actor }).sql,
        b.insertEvent(
          attemptEvent(migration, "rollback", "succeeded", actor, sql.raw(ELAPSED_MS), null),
        ).sql,
        `select 'rolled_back' as outcome, ${ELAPSED_MS} as execution_time_ms`,
      ),
    );
    const clientMs = elapsedSince(started);
    switch (response.kind) {
      case "rows":
        return {
          status: "rolled_back",
          executionTimeMs: Number(response.rows.at(-1)?.execution_time_ms ?? clientMs),
        };
      case "sql":
        if (response.failure.code === NOT_APPLIED) return { status: "not_applied" };
        return this.recordRollbackFailure(migration, actor, clientMs, response.failure);
      case "unavailable":
        throw new ExecutorUnavailableError(
          `Could not roll back ${migration.name}: ${response.reason}; nothing ran.`,
        );
      case "unknown":
        return this.recordRollbackFailure(
          migration,
          actor,
          clientMs,
          unknownOutcome(response.reason),
        );
    }
  }

  async recordChanges(changes: readonly Bookkeeping[], actor: string): Promise<void> {
    if (changes.length === 0) return;
    await this.ensureTrackingTables();
    const statements = [b.lockUnit().sql];
    for (const change of changes) {
      const current = `coalesce((${b.selectStatus(change.migrationName).sql}), 'absent')`;
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
          b.upsertApplied({
            migrationName: change.migrationName,
            actor,
            checksum,
            executionTimeMs: null,
          }).sql,
        );
      } else if (change.kind === "mark_rolled_back") {
        statements.push(b.markRolledBack({ migrationName: change.migrationName, actor }).sql);
      } else {
        checksum = change.checksum;
        statements.push(b.setChecksum({ migrationName: change.migrationName, checksum }).sql);
      }
      statements.push(
        b.insertEvent({
          migrationName: change.migrationName,
          action: change.action,
          outcome: "succeeded",
          actor,
          executionTimeMs: null,
          errorMessage: null,
          checksum,
        }).sql,
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
            b.lockUnit().sql,
            guard(
              `(${b.selectStatus(migration.name).sql}) = 'applied'`,
              ALREADY_APPLIED,
              "already applied",
            ),
            b.upsertFailed({
              migrationName: migration.name,
              actor,
              checksum: migration.checksum,
              executionTimeMs,
              errorMessage: failure.message,
            }).sql,
            b.insertEvent(
              attemptEvent(migration, "apply", "failed", actor, executionTimeMs, failure.message),
            ).sql,
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
            b.lockUnit().sql,
            guard(
              `(${b.selectStatus(migration.name).sql}) = 'rolled_back'`,
              ALREADY_ROLLED_BACK,
              "already rolled back",
            ),
            b.insertEvent(
              attemptEvent(
                migration,
                "rollback",
                "failed",
                actor,
                executionTimeMs,
                failure.message,
              ),
            ).sql,
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
  ): Promise<ApplyOutcome> {
    const begin = await this.transport.query(
      batch(
        b.lockUnit().sql,
        guard(
          `(${b.selectStatus(migration.name).sql}) = 'applied'`,
          ALREADY_APPLIED,
          "already applied",
        ),
        b.upsertFailed({
          migrationName: migration.name,
          actor,
          checksum: migration.checksum,
          executionTimeMs: null,
          errorMessage: startedMessage(actor),
        }).sql,
        "select 'started' as outcome",
      ),
    );
    if (begin.kind === "sql" && begin.failure.code === ALREADY_APPLIED)
      return { status: "already_applied" };
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
            b.lockUnit().sql,
            b.upsertApplied({
              migrationName: migration.name,
              actor,
              checksum: migration.checksum,
              executionTimeMs,
            }).sql,
            b.insertEvent(
              attemptEvent(migration, "apply", "succeeded", actor, executionTimeMs, null),
            ).sql,
            "select 'applied' as outcome",
          ),
        ),
    );
    expectRows(done, `record ${migration.name} as applied`);
    return { status: "applied", executionTimeMs };
  }

  private async rollbackStatementByStatement(
    migration: MigrationToRun,
    actor: string,
  ): Promise<RollbackOutcome> {
    const [row] = expectRows(
      await this.transport.query(b.selectStatus(migration.name).sql),
      "read the migration state",
    );
    if (row?.status !== "applied") return { status: "not_applied" };
    const started = performance.now();
    const failure = await this.runStatements(migration.sql);
    const executionTimeMs = elapsedSince(started);
    if (failure) return this.recordRollbackFailure(migration, actor, executionTimeMs, failure);
    const done = await this.untilKnown(`record ${migration.name} as rolled back`, () =>
      this.transport.query(
        batch(
          b.lockUnit().sql,
          b.markRolledBack({ migrationName: migration.name, actor }).sql,
          b.insertEvent(
            attemptEvent(migration, "rollback", "succeeded", actor, executionTimeMs, null),
          ).sql,
          "select 'rolled_back' as outcome",
        ),
      ),
    );
    expectRows(done, `record ${migration.name} as rolled back`);
    return { status: "rolled_back", executionTimeMs };
  }

  /** Each statement alone, one request each; the first that does not succeed ends the run. */
  private async runStatements(script: string): Promise<SqlFailure | null> {
    for (const statement of splitSqlStatements(script)) {
      const response = await this.transport.query(statement.text);
      if (response.kind === "sql") return response.failure;
      if (response.kind !== "rows") return unknownOutcome(response.reason);
    }
    return null;
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

  /** Creates the tracking tables if no read has shown them yet (one request, once). */
  private async ensureTrackingTables(): Promise<void> {
    if (this.trackingTablesExist) return;
    const response = await this.transport.query(
      batch(b.lockUnit().sql, TRACKING_TABLES_SQL, "select true as exist"),
    );
    expectRows(response, "create the tracking tables");
    this.trackingTablesExist = true;
  }
}

type RecordRow = Parameters<typeof toRecord>[0] & Partial<SchemaMigrationsTable>;
type EventRow = Parameters<typeof toEvent>[0] & Partial<SchemaMigrationEventsTable>;

export function createPgMetaExecutor(options: PgMetaExecutorOptions): Executor {
  return new PgMetaExecutor(options);
}

function batch(...statements: string[]): string {
  return statements.join(";\n");
}

/**
 * A `DO` block raising `code` when `condition` holds. The dollar-quote tag is chosen so that it
 * cannot occur in the body. `message` is a literal unless `messageIsSql`.
 */
function guard(condition: string, code: string, message: string, messageIsSql = false): string {
  const body = `begin if ${condition} then raise exception using errcode = '${code}', message = ${messageIsSql ? message : quoteLiteral(message)}; end if; end`;
  let tag = "$guard$";
  for (let i = 0; body.includes(tag); i++) tag = `$guard${i}$`;
  return `do ${tag} ${body} ${tag}`;
}

function expectRows(response: PgMetaResponse, what: string): Record<string, unknown>[] {
  if (response.kind === "rows") return response.rows;
  const reason = response.kind === "sql" ? response.failure.message : response.reason;
  throw new ExecutorUnavailableError(`Could not ${what}: ${reason}`);
}

function unknownOutcome(reason: string): SqlFailure {
  return {
    message: `${reason}; the outcome was checked afterwards and the change did not commit`,
    code: null,
    detail: null,
    hint: null,
    position: null,
  };
}
