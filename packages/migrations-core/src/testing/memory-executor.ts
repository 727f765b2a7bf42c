import {
  ChecksumDriftError,
  ExecutorUnavailableError,
  ForeignHistoryNotFoundError,
  LockBusyError,
  RollbackOrderError,
  type SqlFailure,
  StateConflictError,
} from "../errors.ts";
import type {
  ApplyOutcome,
  ApplyRequest,
  Bookkeeping,
  EventQuery,
  Executor,
  LockHandle,
  LockOptions,
  RollbackOutcome,
  RollbackRequest,
} from "../executor.ts";
import {
  type ForeignHistorySource,
  type ForeignVersions,
  foreignTableOf,
} from "../foreign-history.ts";
import { compareMigrationNames } from "../migration.ts";
import {
  type MigrationAction,
  type MigrationEvent,
  type MigrationRecord,
  rollbackFailedMessage,
  rollbackStartedMessage,
  startedMessage,
} from "../records.ts";
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
  private closed = false;

  constructor(options: MemoryExecutorOptions = {}) {
    this.database = options.database ?? createMemoryDatabase();
    this.failures = options.failures ?? [];
    this.now = options.now ?? (() => new Date());
    this.statementDelayMs = options.statementDelayMs ?? 0;
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

  recordChanges(changes: readonly Bookkeeping[], actor: string): Promise<void> {
    return this.unit(() => this.record(changes, actor));
  }

  private async apply({ migration, actor }: ApplyRequest): Promise<ApplyOutcome> {
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
        "Look at the current state and retry.",
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
    }
    const run = await this.runStatements(
      migration.name,
      "apply",
      migration.sql,
      migration.transactional,
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

  private async rollback({ migration, actor }: RollbackRequest): Promise<RollbackOutcome> {
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

  private async record(changes: readonly Bookkeeping[], actor: string): Promise<void> {
    const db = this.database;
    for (const change of changes) {
      const current = db.records.get(change.migrationName)?.status ?? "absent";
      if (!change.expect.includes(current)) {
        throw new StateConflictError(
          change.migrationName,
          `${change.migrationName} is ${current === "absent" ? "not recorded" : current}, which changed since it was planned; nothing was recorded.`,
          "Look at the current state and retry.",
        );
      }
    }
    for (const change of changes) {
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
      );
    }
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
  ): Promise<{ failure: SqlFailure | null }> {
    const db = this.database;
    const savedTables = new Set(db.tables);
    const savedExecuted = db.executed.length;
    const injected = this.failures.find(
      (f) => f.migrationName === migrationName && (f.action ?? "apply") === action,
    );
    const statements = splitSqlStatements(sql);
    for (const [index, statement] of statements.entries()) {
      if (this.statementDelayMs > 0) await new Promise((r) => setTimeout(r, this.statementDelayMs));
      let failure: SqlFailure | null = null;
      if (injected && (injected.statementIndex ?? 0) === index) {
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
          message:
            injected.error?.message ??
            `injected failure in ${migrationName} at statement ${index + 1}`,
          code: injected.error?.code ?? "P0001",
          detail: injected.error?.detail ?? null,
          hint: injected.error?.hint ?? null,
          position: injected.error?.position ?? null,
        };
      } else {
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

  private writeRecord(migrationName: string, fields: Omit<MigrationRecord, "migrationName">): void {
    this.database.records.set(migrationName, { migrationName, ...fields });
  }

  private appendEvent(
    migrationName: string,
    action: MigrationAction,
    outcome: "succeeded" | "failed",
    actor: string,
    executionTimeMs: number | null,
    errorMessage: string | null,
    checksum: string | null,
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
      errorMessage,
      checksum,
    });
  }
}

const IDENTIFIER = `([a-z_][a-z0-9_.]*|"(?:[^"]|"")+")`;
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

function toyError(message: string, code: string): SqlFailure {
  return { message, code, detail: null, hint: null, position: null };
}
