import {
  ChecksumDriftError,
  ExecutorUnavailableError,
  ForeignHistoryNotFoundError,
  LockBusyError,
  RollbackOrderError,
  type SqlFailure,
  StateConflictError,
} from "../errors.ts";
import {
  type ApplyOutcome,
  type ApplyRequest,
  type Bookkeeping,
  type EventQuery,
  type Executor,
  type InterruptedEventWritten,
  type LockHandle,
  type LockOptions,
  type MigrationTimeouts,
  type RecordedChanges,
  type RollbackOutcome,
  type RollbackRequest,
  resolutionOf,
} from "../executor.ts";
import {
  type ForeignHistorySource,
  type ForeignVersions,
  foreignTableOf,
} from "../foreign-history.ts";
import { capMessage } from "../message-cap.ts";
import { compareMigrationNames } from "../migration.ts";
import {
  INTERRUPTED_EVENT_PREFIX,
  interruptedMessage,
  isInterrupted,
  isRollbackAttempt,
  type MigrationAction,
  type MigrationEvent,
  type MigrationRecord,
  type Resolution,
  rollbackFailedMessage,
  rollbackStartedMessage,
  startedByOf,
  startedMessage,
} from "../records.ts";
import {
  type RehearsedMigration,
  type RehearsedStatement,
  type RehearseOutcome,
  type RehearseRequest,
  rehearsedStatementText,
} from "../rehearsal.ts";
import type { RelationSize } from "../relations.ts";
import { splitSqlStatements } from "../sql-statements.ts";

/**
 * The state one in-memory "database" holds. Share one between several executors to model several
 * processes against one server: they contend for its lock and see each other's records.
 */
export interface MemoryDatabase {
  /** `platform.schema_migrations`, by migration name. */
  readonly records: Map<string, MigrationRecord>;
  /** `platform.schema_migration_events`, oldest first. */
  readonly events: MigrationEvent[];
  /**
   * A toy schema: the tables that `CREATE TABLE` / `DROP TABLE` statements have created, so that
   * atomicity is observable (and a second `CREATE TABLE` of one name fails, as in Postgres).
   */
  readonly tables: Set<string>;
  /** Every statement that ran and committed, in order. */
  readonly executed: string[];
  /**
   * Other tools' history tables, for `adopt`: the `version` column of each, by schema-qualified
   * name (`public.schema_migrations` for dbmate's default — the toy's current schema is
   * `public` — and `supabase_migrations.schema_migrations` for the Supabase CLI's). Seed it in a
   * test: `database.foreignTables.set("public.schema_migrations", ["20240101120000"])`.
   */
  readonly foreignTables: Map<string, string[]>;
  /**
   * `schema_migrations.up_sql`, by migration name: the up section as sent when it last ran (kept
   * by a rollback or an accepted checksum; none after a baseline, a resolve, or a failure inside a
   * transaction, as the real executors record it).
   */
  readonly recordedSql: Map<string, string>;
  /**
   * Tables another session holds a lock on (`LOCK TABLE … IN ACCESS EXCLUSIVE MODE` in a psql
   * somewhere): a migration statement that creates, alters or drops one waits for it to leave
   * the set, up to the lock timeout, then fails with SQLSTATE 55P03 as PostgreSQL's
   * `lock_timeout` does. Add and delete names in a test.
   */
  readonly lockedTables: Set<string>;
  /** @internal */
  lock: { holder: string; waiters: (() => void)[] } | null;
  /** @internal */
  nextEventId: number;
  /** @internal Serialises units of work, as a transaction-scoped advisory lock does. */
  unitQueue: Promise<unknown>;
}

export function createMemoryDatabase(): MemoryDatabase {
  return {
    records: new Map(),
    events: [],
    tables: new Set(),
    executed: [],
    foreignTables: new Map(),
    recordedSql: new Map(),
    lockedTables: new Set(),
    lock: null,
    nextEventId: 1,
    unitQueue: Promise.resolve(),
  };
}

/** Makes the `index`-th statement (0-based) of a migration's SQL fail. */
export interface InjectedFailure {
  migrationName: string;
  /** Which direction to fail; default `apply`. */
  action?: "apply" | "rollback";
  /** Default: the first statement. */
  statementIndex?: number;
  /** Default: a generic error with SQLSTATE P0001. */
  error?: Partial<SqlFailure>;
  /**
   * `crash` models the process or its connection dying at that statement: nothing more is
   * recorded and the call throws `ExecutorUnavailableError`.
   */
  mode?: "error" | "crash";
}

export interface MemoryExecutorOptions {
  /** The database to act on; a fresh one by default. */
  database?: MemoryDatabase;
  failures?: readonly InjectedFailure[];
  /** The time source for `applied_at`, event times and execution times. */
  now?: () => Date;
  /** Added to every statement's run time, to widen race windows in concurrency tests. */
  statementDelayMs?: number;
  /**
   * The executor's own limits for a migration's statements, which a request's `timeouts`
   * override: a statement longer than `statementTimeoutMs` (see `statementDelayMs`) fails with
   * 57014, one waiting longer than `lockTimeoutMs` for a locked table (see `lockedTables`) with
   * 55P03. Default: 5 s to wait for a lock, no statement limit.
   */
  timeouts?: MigrationTimeouts;
}

/**
 * A faithful fake of an executor over the tracking tables, for testing the core without a
 * database. It keeps the same invariants as the real executors (see `Executor`), runs a toy
 * schema, and takes failures through its options — never through hooks in the core.
 */
export class MemoryExecutor implements Executor {
  readonly kind = "memory";
  readonly lockScope = "session";
  readonly database: MemoryDatabase;
  private readonly failures: readonly InjectedFailure[];
  private readonly now: () => Date;
  private readonly statementDelayMs: number;
  private readonly timeouts: Required<MigrationTimeouts>;
  private closed = false;

  constructor(options: MemoryExecutorOptions = {}) {
    this.database = options.database ?? createMemoryDatabase();
    this.failures = options.failures ?? [];
    this.now = options.now ?? (() => new Date());
    this.statementDelayMs = options.statementDelayMs ?? 0;
    this.timeouts = {
      lockTimeoutMs: options.timeouts?.lockTimeoutMs ?? 5_000,
      statementTimeoutMs: options.timeouts?.statementTimeoutMs ?? 0,
    };
  }

  async readState(): Promise<MigrationRecord[]> {
    this.assertOpen();
    return [...this.database.records.values()].map((r) => ({ ...r }));
  }

  async acquireLock({ timeoutMs, holder }: LockOptions): Promise<LockHandle> {
    this.assertOpen();
    const db = this.database;
    const started = Date.now();
    while (db.lock !== null) {
      const lock = db.lock;
      const remaining = timeoutMs - (Date.now() - started);
      if (remaining <= 0) throw new LockBusyError(lock.holder, timeoutMs);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        lock.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const mine = { holder, waiters: [] as (() => void)[] };
    db.lock = mine;
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        db.lock = null;
        for (const wake of mine.waiters) wake();
      },
    };
  }

  applyMigration(request: ApplyRequest): Promise<ApplyOutcome> {
    return this.unit(() => this.apply(request));
  }

  rollbackMigration(request: RollbackRequest): Promise<RollbackOutcome> {
    return this.unit(() => this.rollback(request));
  }

  recordChanges(changes: readonly Bookkeeping[], actor: string): Promise<RecordedChanges> {
    return this.unit(() => this.record(changes, actor));
  }

  private async apply({ migration, actor, timeouts }: ApplyRequest): Promise<ApplyOutcome> {
    const db = this.database;
    const recorded = db.records.get(migration.name);
    if (recorded?.status === "applied") return { status: "already_applied" };
    // Part of it may be in place: only an operator's resolve clears that (checked in the unit).
    if (
      recorded?.status === "failed" &&
      recorded.transactional === false &&
      recorded.executionTimeMs !== null
    ) {
      throw new StateConflictError(
        migration.name,
        `${migration.name} is failed, which changed since it was planned; nothing was recorded.`,
        { kind: "refresh_and_retry" },
      );
    }
    const startedAt = this.now();

    if (!migration.transactional) {
      this.writeRecord(migration.name, {
        status: "failed",
        appliedAt: startedAt,
        appliedBy: actor,
        errorMessage: startedMessage(actor),
        executionTimeMs: null,
        checksum: migration.checksum,
        transactional: false,
        rolledBackAt: null,
        rolledBackBy: null,
      });
      this.database.recordedSql.set(migration.name, migration.sql);
    }
    const run = await this.runStatements(
      migration.name,
      "apply",
      migration.sql,
      migration.transactional,
      timeouts,
    );
    const executionTimeMs = this.elapsed(startedAt);
    if (run.failure) {
      this.writeRecord(migration.name, {
        status: "failed",
        appliedAt: startedAt,
        appliedBy: actor,
        errorMessage: run.failure.message,
        executionTimeMs,
        checksum: migration.checksum,
        transactional: migration.transactional,
        rolledBackAt: null,
        rolledBackBy: null,
      });
      // A transaction that rolled back left nothing of what it ran; statements run one by one
      // may have left part of theirs, so their SQL is kept.
      this.keepRecordedSql(migration.name, migration.transactional ? null : migration.sql);
      this.appendEvent(
        migration.name,
        "apply",
        "failed",
        actor,
        executionTimeMs,
        run.failure.message,
        migration.checksum,
      );
      return { status: "failed", executionTimeMs, error: run.failure };
    }
    this.writeRecord(migration.name, {
      status: "applied",
      appliedAt: this.now(),
      appliedBy: actor,
      errorMessage: null,
      executionTimeMs,
      checksum: migration.checksum,
      transactional: migration.transactional,
      rolledBackAt: null,
      rolledBackBy: null,
    });
    this.database.recordedSql.set(migration.name, migration.sql);
    this.appendEvent(
      migration.name,
      "apply",
      "succeeded",
      actor,
      executionTimeMs,
      null,
      migration.checksum,
    );
    return { status: "applied", executionTimeMs };
  }

  private async rollback({
    migration,
    actor,
    timeouts,
  }: RollbackRequest): Promise<RollbackOutcome> {
    const db = this.database;
    const record = db.records.get(migration.name);
    if (record?.status !== "applied") return { status: "not_applied" };
    // Checked here, in the unit, as the real executors check it under their unit lock.
    const newer = this.newerApplied(record);
    if (newer !== null) throw new RollbackOrderError(migration.name, newer);
    if (record.checksum !== null && record.checksum !== migration.checksum) {
      throw new ChecksumDriftError([migration.name]);
    }
    const startedAt = this.now();
    if (!migration.transactional) {
      // The row is the claim, and shows the down section interrupted should it never finish.
      this.writeRecord(migration.name, {
        ...record,
        status: "failed",
        errorMessage: rollbackStartedMessage(actor),
        executionTimeMs: null,
        transactional: false,
      });
    }
    const run = await this.runStatements(
      migration.name,
      "rollback",
      migration.sql,
      migration.transactional,
      timeouts,
    );
    const executionTimeMs = this.elapsed(startedAt);
    if (run.failure) {
      if (!migration.transactional) {
        this.writeRecord(migration.name, {
          ...record,
          status: "failed",
          appliedAt: startedAt,
          appliedBy: actor,
          errorMessage: rollbackFailedMessage(run.failure.message),
          executionTimeMs,
          transactional: false,
        });
      }
      this.appendEvent(
        migration.name,
        "rollback",
        "failed",
        actor,
        executionTimeMs,
        run.failure.message,
        migration.checksum,
      );
      return { status: "failed", executionTimeMs, error: run.failure };
    }
    this.writeRecord(migration.name, {
      ...record,
      status: "rolled_back",
      errorMessage: null,
      rolledBackAt: this.now(),
      rolledBackBy: actor,
    });
    this.appendEvent(
      migration.name,
      "rollback",
      "succeeded",
      actor,
      executionTimeMs,
      null,
      migration.checksum,
    );
    return { status: "rolled_back", executionTimeMs };
  }

  /** The applied migration recorded after `record` (later, then higher version), if any. */
  private newerApplied(record: MigrationRecord): string | null {
    let newest: MigrationRecord | null = null;
    const later = (a: MigrationRecord, b: MigrationRecord) =>
      a.appliedAt.getTime() !== b.appliedAt.getTime()
        ? a.appliedAt.getTime() > b.appliedAt.getTime()
        : compareMigrationNames(a.migrationName, b.migrationName) > 0;
    for (const other of this.database.records.values()) {
      if (other.status !== "applied" || other.migrationName === record.migrationName) continue;
      if (later(other, record) && (newest === null || later(other, newest))) newest = other;
    }
    return newest?.migrationName ?? null;
  }

  private async record(changes: readonly Bookkeeping[], actor: string): Promise<RecordedChanges> {
    const interrupted: InterruptedEventWritten[] = [];
    const db = this.database;
    for (const change of changes) {
      if (change.kind === "record_interrupted") continue;
      const current = db.records.get(change.migrationName)?.status ?? "absent";
      if (!change.expect.includes(current)) {
        throw new StateConflictError(
          change.migrationName,
          `${change.migrationName} is ${current === "absent" ? "not recorded" : current}, which changed since it was planned; nothing was recorded.`,
          { kind: "refresh_and_retry" },
        );
      }
    }
    for (const change of changes) {
      if (change.kind === "record_interrupted") {
        const written = this.recordInterrupted(change.migrationName, change.action, actor);
        if (written !== null) interrupted.push(written);
        continue;
      }
      const record = db.records.get(change.migrationName);
      const now = this.now();
      let checksum: string | null = record?.checksum ?? null;
      switch (change.kind) {
        case "mark_applied":
          checksum = change.checksum;
          this.writeRecord(change.migrationName, {
            status: "applied",
            appliedAt: now,
            appliedBy: actor,
            errorMessage: null,
            executionTimeMs: null,
            checksum,
            transactional: null,
            rolledBackAt: null,
            rolledBackBy: null,
          });
          // Recorded, not run: there is no SQL that ran to keep.
          this.keepRecordedSql(change.migrationName, null);
          break;
        case "mark_rolled_back":
          this.writeRecord(change.migrationName, {
            status: "rolled_back",
            appliedAt: record?.appliedAt ?? now,
            appliedBy: record?.appliedBy ?? null,
            errorMessage: record?.errorMessage ?? null,
            executionTimeMs: record?.executionTimeMs ?? null,
            checksum,
            rolledBackAt: now,
            rolledBackBy: actor,
          });
          break;
        case "accept_checksum":
          checksum = change.checksum;
          if (record) this.writeRecord(change.migrationName, { ...record, checksum });
          break;
      }
      this.appendEvent(
        change.migrationName,
        change.action,
        "succeeded",
        actor,
        null,
        change.kind === "mark_applied" ? (change.note ?? null) : null,
        checksum,
        resolutionOf(change),
      );
    }
    return { interrupted };
  }

  /**
   * The failed event of an attempt found interrupted, by the rules of its `Bookkeeping` kind: only
   * while the row is that started attempt and not `running` (which a test sets on the record to
   * stand for a runner still working), and once per attempt.
   */
  private recordInterrupted(
    migrationName: string,
    action: "apply" | "rollback",
    detectedBy: string,
  ): InterruptedEventWritten | null {
    const record = this.database.records.get(migrationName);
    if (record === undefined || !isInterrupted(record) || record.running) return null;
    if (isRollbackAttempt(record) !== (action === "rollback")) return null;
    const recorded = this.database.events.some(
      (event) =>
        event.migrationName === migrationName &&
        event.action === action &&
        event.outcome === "failed" &&
        event.at.getTime() >= record.appliedAt.getTime() &&
        (event.errorMessage ?? "").startsWith(INTERRUPTED_EVENT_PREFIX),
    );
    if (recorded) return null;
    const startedBy = startedByOf(record);
    const errorMessage = interruptedMessage({
      startedBy,
      startedAt: record.appliedAt.toISOString(),
      rollback: action === "rollback",
      detectedBy,
      detectedAt: this.now().toISOString(),
    });
    this.appendEvent(
      migrationName,
      action,
      "failed",
      startedBy,
      null,
      errorMessage,
      record.checksum,
    );
    return { migrationName, action, actor: startedBy, errorMessage };
  }

  async readEvents({ migrationName, before, limit }: EventQuery): Promise<MigrationEvent[]> {
    this.assertOpen();
    const out: MigrationEvent[] = [];
    for (let i = this.database.events.length - 1; i >= 0 && out.length < limit; i--) {
      const event = this.database.events[i] as MigrationEvent;
      if (before !== undefined && BigInt(event.id) >= BigInt(before)) continue;
      if (migrationName !== undefined && event.migrationName !== migrationName) continue;
      out.push({ ...event });
    }
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /**
   * What the toy schema knows of each name: whether the table exists (an unqualified name is
   * looked for as written and in `public`), no rows and no bytes (the toy holds no data), and a
   * lock holder for a table in `lockedTables`.
   */
  async readRelationSizes(names: readonly string[]): Promise<RelationSize[]> {
    this.assertOpen();
    const db = this.database;
    return names.map((name): RelationSize => {
      const table = toyTableOf(db.tables, name);
      if (table === null) {
        return {
          name,
          exists: false,
          relation: null,
          kind: null,
          estimatedRows: null,
          totalBytes: null,
          lockHolders: [],
        };
      }
      return {
        name,
        exists: true,
        relation: qualifiedToyName(table),
        kind: "table",
        estimatedRows: 0,
        totalBytes: 0,
        lockHolders: db.lockedTables.has(table)
          ? [
              {
                pid: null,
                mode: "ACCESS EXCLUSIVE",
                granted: true,
                user: null,
                applicationName: null,
                state: "idle in transaction",
                since: null,
                query: `LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`,
              },
            ]
          : [],
      };
    });
  }

  /**
   * Runs the request's statements against a copy of the toy schema, which is then thrown away:
   * the records, events, tables and executed statements are untouched. Each statement waits for
   * `lockedTables` and its delay as an applied one does, takes ACCESS EXCLUSIVE on the table it
   * creates, alters or drops, and the first that fails ends the rehearsal.
   */
  rehearse(request: RehearseRequest): Promise<RehearseOutcome> {
    return this.unit(() => this.rehearseInCopy(request));
  }

  private async rehearseInCopy({
    migrations,
    timeouts,
  }: RehearseRequest): Promise<RehearseOutcome> {
    const db = this.database;
    const tables = new Set(db.tables);
    const limits = { ...this.timeouts, ...timeouts };
    const held = new Set<string>();
    const answered: RehearsedMigration[] = [];
    let failed = false;
    for (const migration of migrations) {
      if (failed) {
        answered.push({
          migrationName: migration.name,
          status: "not_reached",
          elapsedMs: null,
          statements: [],
        });
        continue;
      }
      const statements: RehearsedStatement[] = [];
      for (const [index, statement] of migration.statements.entries()) {
        const started = performance.now();
        let error = await waitForTableLock(db, statement.sql, limits.lockTimeoutMs);
        if (error === null && this.statementDelayMs > 0) {
          const cut =
            limits.statementTimeoutMs > 0 && limits.statementTimeoutMs < this.statementDelayMs;
          await sleep(cut ? limits.statementTimeoutMs : this.statementDelayMs);
          if (cut) error = toyError("canceling statement due to statement timeout", "57014");
        }
        error ??= runToyStatement(tables, statement.sql);
        const touched = TOUCHES_TABLE.exec(statement.sql);
        const table = touched ? tableName(touched[1] as string) : null;
        const locks =
          error === null && table !== null && !held.has(table)
            ? [
                {
                  relation: qualifiedToyName(table),
                  kind: "table" as const,
                  mode: "ACCESS EXCLUSIVE" as const,
                },
              ]
            : [];
        if (error === null && table !== null) held.add(table);
        statements.push({
          index,
          line: statement.line,
          statement: rehearsedStatementText(statement.sql),
          elapsedMs: Math.round((performance.now() - started) * 1000) / 1000,
          locks,
          error,
        });
        if (error !== null) {
          failed = true;
          break;
        }
      }
      answered.push({
        migrationName: migration.name,
        status: failed ? "failed" : "rehearsed",
        elapsedMs:
          Math.round(statements.reduce((sum, statement) => sum + statement.elapsedMs, 0) * 1000) /
          1000,
        statements,
      });
    }
    return { migrations: answered };
  }

  async readRecordedSql(migrationName: string): Promise<string | null> {
    this.assertOpen();
    return this.database.recordedSql.get(migrationName) ?? null;
  }

  async readForeignVersions(source: ForeignHistorySource): Promise<ForeignVersions> {
    this.assertOpen();
    const table = foreignTableOf(source);
    const qualified = `${table.schema ?? "public"}.${table.name}`;
    const versions = this.database.foreignTables.get(qualified);
    if (versions === undefined) throw new ForeignHistoryNotFoundError(source.kind, qualified);
    return { table: qualified, versions: [...versions] };
  }

  /** Runs one unit of work after every unit queued before it, on any executor of this database. */
  private unit<T>(work: () => Promise<T>): Promise<T> {
    this.assertOpen();
    const db = this.database;
    const result = db.unitQueue.then(work);
    db.unitQueue = result.catch(() => {});
    return result;
  }

  private assertOpen(): void {
    if (this.closed) throw new ExecutorUnavailableError("The executor is closed.");
  }

  private elapsed(since: Date): number {
    return Math.max(0, Math.round(this.now().getTime() - since.getTime()));
  }

  /**
   * Runs statements against the toy schema. In a transaction, a failure restores the schema as it
   * was; outside one, the statements before the failing one stay.
   */
  private async runStatements(
    migrationName: string,
    action: "apply" | "rollback",
    sql: string,
    transactional: boolean,
    requested: MigrationTimeouts | undefined,
  ): Promise<{ failure: SqlFailure | null }> {
    const db = this.database;
    const limits = { ...this.timeouts, ...requested };
    const savedTables = new Set(db.tables);
    const savedExecuted = db.executed.length;
    const injected = this.failures.find(
      (f) => f.migrationName === migrationName && (f.action ?? "apply") === action,
    );
    const statements = splitSqlStatements(sql);
    for (const [index, statement] of statements.entries()) {
      let failure = await waitForTableLock(db, statement.text, limits.lockTimeoutMs);
      if (failure === null && this.statementDelayMs > 0) {
        const cut =
          limits.statementTimeoutMs > 0 && limits.statementTimeoutMs < this.statementDelayMs;
        await sleep(cut ? limits.statementTimeoutMs : this.statementDelayMs);
        if (cut) failure = toyError("canceling statement due to statement timeout", "57014");
      }
      // A cancelled statement (lock or statement timeout) changed nothing; the run ends below.
      if (failure === null && injected && (injected.statementIndex ?? 0) === index) {
        if (injected.mode === "crash") {
          if (transactional) {
            db.tables.clear();
            for (const t of savedTables) db.tables.add(t);
            db.executed.length = savedExecuted;
          }
          throw new ExecutorUnavailableError(
            `Connection lost while running ${migrationName} (injected crash).`,
          );
        }
        failure = {
          // As a real executor does (SPEC §3): what comes back and is stored is at most 16 KiB.
          message: capMessage(
            injected.error?.message ??
              `injected failure in ${migrationName} at statement ${index + 1}`,
          ),
          code: injected.error?.code ?? "P0001",
          detail: injected.error?.detail ?? null,
          hint: injected.error?.hint ?? null,
          position: injected.error?.position ?? null,
        };
      } else if (failure === null) {
        failure = runToyStatement(db.tables, statement.text);
      }
      if (failure) {
        if (transactional) {
          db.tables.clear();
          for (const t of savedTables) db.tables.add(t);
          db.executed.length = savedExecuted;
        }
        return { failure };
      }
      db.executed.push(statement.text);
    }
    return { failure: null };
  }

  private keepRecordedSql(migrationName: string, sql: string | null): void {
    if (sql === null) this.database.recordedSql.delete(migrationName);
    else this.database.recordedSql.set(migrationName, sql);
  }

  private writeRecord(migrationName: string, fields: Omit<MigrationRecord, "migrationName">): void {
    const errorMessage = fields.errorMessage === null ? null : capMessage(fields.errorMessage);
    this.database.records.set(migrationName, { migrationName, ...fields, errorMessage });
  }

  private appendEvent(
    migrationName: string,
    action: MigrationAction,
    outcome: "succeeded" | "failed",
    actor: string | null,
    executionTimeMs: number | null,
    errorMessage: string | null,
    checksum: string | null,
    resolution: Resolution | null = null,
  ): void {
    const db = this.database;
    db.events.push({
      id: String(db.nextEventId++),
      migrationName,
      action,
      outcome,
      actor,
      at: this.now(),
      executionTimeMs,
      errorMessage: errorMessage === null ? null : capMessage(errorMessage),
      checksum,
      resolution,
    });
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const IDENTIFIER = `([a-z_][a-z0-9_.]*|"(?:[^"]|"")+")`;
const TOUCHES_TABLE = new RegExp(
  String.raw`^(?:create|alter|drop)\s+table\s+(?:if\s+(?:not\s+)?exists\s+)?${IDENTIFIER}`,
  "i",
);

/**
 * Waits while another session holds a lock on the table `statement` creates, alters or drops
 * (`lockedTables`), as PostgreSQL does, up to `lockTimeoutMs` (0: no limit); then its 55P03.
 */
async function waitForTableLock(
  db: MemoryDatabase,
  statement: string,
  lockTimeoutMs: number,
): Promise<SqlFailure | null> {
  const touched = TOUCHES_TABLE.exec(statement);
  if (!touched) return null;
  const table = tableName(touched[1] as string);
  const started = Date.now();
  while (db.lockedTables.has(table)) {
    if (lockTimeoutMs > 0 && Date.now() - started >= lockTimeoutMs) {
      return toyError("canceling statement due to lock timeout", "55P03");
    }
    await sleep(5);
  }
  return null;
}
const CREATE_TABLE = new RegExp(
  String.raw`^create\s+table\s+(if\s+not\s+exists\s+)?${IDENTIFIER}`,
  "i",
);
const DROP_TABLE = new RegExp(String.raw`^drop\s+table\s+(if\s+exists\s+)?${IDENTIFIER}`, "i");

function tableName(identifier: string): string {
  return identifier.startsWith('"')
    ? identifier.slice(1, -1).replaceAll('""', '"')
    : identifier.toLowerCase();
}

/** The toy schema's whole SQL dialect: create and drop tables; anything else just succeeds. */
function runToyStatement(tables: Set<string>, statement: string): SqlFailure | null {
  const create = CREATE_TABLE.exec(statement);
  if (create) {
    const name = tableName(create[2] as string);
    if (tables.has(name)) {
      if (create[1]) return null;
      return toyError(`relation "${name.split(".").pop()}" already exists`, "42P07");
    }
    tables.add(name);
    return null;
  }
  const drop = DROP_TABLE.exec(statement);
  if (drop) {
    const name = tableName(drop[2] as string);
    if (!tables.delete(name) && !drop[1])
      return toyError(`table "${name.split(".").pop()}" does not exist`, "42P01");
  }
  return null;
}

/** The toy table a relation name means, if the toy has it (unqualified: as written, or in `public`). */
function toyTableOf(tables: ReadonlySet<string>, name: string): string | null {
  const table = name.startsWith('"') ? tableName(name) : name.toLowerCase();
  if (tables.has(table)) return table;
  if (!table.includes(".") && tables.has(`public.${table}`)) return `public.${table}`;
  return null;
}

/** A toy table's name as the catalog would qualify it (`public` when unqualified). */
function qualifiedToyName(table: string): string {
  return table.includes(".") ? table : `public.${table}`;
}

function toyError(message: string, code: string): SqlFailure {
  return { message, code, detail: null, hint: null, position: null };
}
