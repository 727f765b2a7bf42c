import {
  InvalidInputError,
  InvalidMigrationFileError,
  type SqlFailure,
  StateConflictError,
} from "./errors.ts";
import type { Bookkeeping, Executor, LockHandle } from "./executor.ts";
import { foreignTableOf } from "./foreign-history.ts";
import {
  type AdoptResult,
  type ApplyPlan,
  type ApplyTarget,
  fileProblemsBlocking,
  type PlanInput,
  planAdopt,
  planApply,
  planBaseline,
  planResolve,
  planRollback,
  planRollbackRun,
  planStatus,
  type Resolution,
  type RollbackRunTarget,
  type StatusReport,
} from "./planner.ts";
import type { MigrationAction, MigrationEvent } from "./records.ts";
import {
  ACTOR_RULE,
  DEFAULT_HISTORY_LIMIT,
  type ForeignTool,
  HISTORY_CURSOR_PATTERN,
  isValidActor,
  isValidHistoryLimit,
  isValidMigrationName,
  MAX_HISTORY_LIMIT,
  MIGRATION_NAME_RULE,
} from "./rules.ts";
import type { LoadedMigrations, MigrationSource } from "./sources.ts";

/** One structured line per attempt (SPEC §6); never carries SQL or secrets. */
export interface AttemptLog {
  migrationName: string;
  action: MigrationAction;
  outcome: "succeeded" | "failed";
  executionTimeMs: number | null;
  actor: string;
  error: string | null;
}

export interface EngineOptions {
  executor: Executor;
  source: MigrationSource;
  /** How long a run waits for another applier's lock before failing with LOCK_BUSY. */
  lockTimeoutMs?: number;
  /** Called once per attempt, after it is recorded. */
  onAttempt?: (attempt: AttemptLog) => void;
}

export interface ApplyOptions {
  /** Apply exactly this migration (refused while earlier ones are pending). */
  migrationName?: string | undefined;
  /** Apply every pending migration up to and including this one. */
  upTo?: string | undefined;
  dryRun?: boolean | undefined;
  allowOutOfOrder?: boolean | undefined;
  actor: string;
}

export type ApplyStepStatus = "applied" | "already_applied" | "failed" | "skipped" | "would_apply";

export interface ApplyStepResult {
  migrationName: string;
  status: ApplyStepStatus;
  executionTimeMs: number | null;
  error: SqlFailure | null;
  /** The exact SQL that would run, on a dry run. */
  sql: string | null;
  transactional: boolean;
}

export interface ApplyReport {
  dryRun: boolean;
  /** Every step in order; after a failure, the rest are `skipped`. */
  results: ApplyStepResult[];
  /** The step that failed, when one did. */
  failed: ApplyStepResult | null;
}

export interface RollbackOptions {
  migrationName: string;
  /** Record it as rolled back without running SQL (undone by hand, or no down section). */
  markOnly?: boolean | undefined;
  dryRun?: boolean | undefined;
  actor: string;
}

export interface RollbackReport {
  migrationName: string;
  dryRun: boolean;
  status: "rolled_back" | "marked_rolled_back" | "not_applied" | "failed" | "would_roll_back";
  executionTimeMs: number | null;
  error: SqlFailure | null;
  /** The down SQL that ran, or would run on a dry run; null for mark-only. */
  sql: string | null;
  /**
   * Whether its down section runs in a transaction (`false` under `-- migrate:down
   * transaction:false`), as `RollbackStepResult` says: a failed transactional down changed
   * nothing, a failed non-transactional one keeps the statements before the failing one and leaves
   * the migration `failed`, blocking applies until resolved. `true` for a mark-only rollback.
   */
  transactional: boolean;
}

/** `rollback --to <name>` / `--steps N` (SPEC §4 Rollback): exactly one of `to` and `steps`. */
export interface RollbackRunOptions {
  /** Roll back every migration applied after this one, which stays applied. */
  to?: string | undefined;
  /** Roll back the newest N (a whole number ≥ 1). */
  steps?: number | undefined;
  /** Mark them all rolled back without running any SQL (undone by hand). */
  markOnly?: boolean | undefined;
  dryRun?: boolean | undefined;
  actor: string;
}

export type RollbackStepStatus =
  | "rolled_back"
  | "marked_rolled_back"
  /** Found not applied when its turn came (another applier, over a per-unit executor). */
  | "not_applied"
  | "failed"
  /** Not attempted: an earlier step failed. */
  | "skipped"
  | "would_roll_back";

/** One migration of a rollback run; the same fields as an apply step. */
export interface RollbackStepResult {
  migrationName: string;
  status: RollbackStepStatus;
  executionTimeMs: number | null;
  error: SqlFailure | null;
  /** The down SQL that ran, or would run on a dry run; null for mark-only. */
  sql: string | null;
  /** Whether its down section runs in a transaction. */
  transactional: boolean;
}

export interface RollbackRunReport {
  dryRun: boolean;
  /** What was asked for: exactly one of the two is set. */
  to: string | null;
  steps: number | null;
  markOnly: boolean;
  /** Every migration of the run, newest first; after a failure, the rest are `skipped`. */
  results: RollbackStepResult[];
  /** The step that failed, when one did: the run stopped there. */
  failed: RollbackStepResult | null;
}

export interface AdoptOptions {
  /** The tool whose history to adopt. */
  from: ForeignTool;
  /** Its history table, `table` or `schema.table` (see `ForeignHistorySource`). */
  table?: string | undefined;
  actor: string;
}

export interface AdoptReport {
  from: ForeignTool;
  /** The table read, schema-qualified as resolved (e.g. `public.schema_migrations`). */
  table: string;
  /** One per distinct version found there, in version order. */
  results: AdoptResult[];
}

export interface BaselineReport {
  results: { migrationName: string; status: "baselined" | "already_applied" }[];
}

export interface ResolveReport {
  migrationName: string;
  as: Resolution;
  /** The migration's state before and after. */
  before: string;
  after: string;
}

export interface HistoryOptions {
  migrationName?: string | undefined;
  /** The previous page's `nextCursor`. */
  cursor?: string | undefined;
  limit?: number | undefined;
}

export interface HistoryPage {
  events: MigrationEvent[];
  /** Pass as `cursor` for the next (older) page; null on the last page. */
  nextCursor: string | null;
}

export interface MigrationEngine {
  readonly executor: Executor;
  list(): Promise<StatusReport>;
  apply(options: ApplyOptions): Promise<ApplyReport>;
  rollback(options: RollbackOptions): Promise<RollbackReport>;
  /** `rollback --to` / `--steps`: several migrations, newest first, each its own unit. */
  rollbackMany(options: RollbackRunOptions): Promise<RollbackRunReport>;
  /** Records as applied the versions another tool recorded that match local files. */
  adopt(options: AdoptOptions): Promise<AdoptReport>;
  baseline(options: { upTo: string; actor: string }): Promise<BaselineReport>;
  resolve(options: {
    migrationName: string;
    as: Resolution;
    actor: string;
  }): Promise<ResolveReport>;
  history(options?: HistoryOptions): Promise<HistoryPage>;
}

export const DEFAULT_LOCK_TIMEOUT_MS = 10_000;

/**
 * The runner. Every operation loads the sources afresh, reads the recorded state, plans with the
 * pure planner, and — for anything that writes — does so under the executor's lock, planning again
 * under it so that what another applier did meanwhile is taken into account.
 */
export function createMigrationEngine(options: EngineOptions): MigrationEngine {
  const { executor, source } = options;
  const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const log = options.onAttempt ?? (() => {});

  const readInput = async (loaded?: LoadedMigrations): Promise<PlanInput> => {
    const [files, records] = await Promise.all([loaded ?? source.load(), executor.readState()]);
    return { migrations: files.migrations, records, fileProblems: files.problems };
  };

  const underLock = async <T>(actor: string, run: () => Promise<T>): Promise<T> => {
    const handle: LockHandle = await executor.acquireLock({
      timeoutMs: lockTimeoutMs,
      holder: actor,
    });
    try {
      return await run();
    } finally {
      await handle.release();
    }
  };

  const record = async (changes: Bookkeeping[], actor: string) => {
    if (changes.length === 0) return;
    await executor.recordChanges(changes, actor);
    for (const change of changes) {
      log({
        migrationName: change.migrationName,
        action: change.action,
        outcome: "succeeded",
        executionTimeMs: null,
        actor,
        error: null,
      });
    }
  };

  return {
    executor,

    async list() {
      return planStatus(await readInput());
    },

    async apply(opts) {
      requireActor(opts.actor);
      const target = applyTarget(opts);
      // Parse before taking the lock: a broken file should not make others wait. It blocks only
      // an apply that would have to pass it (SPEC §2); warnings block nothing.
      const loaded = await source.load();
      const unloadable = fileProblemsBlocking(loaded.problems, target);
      if (unloadable.length > 0) throw new InvalidMigrationFileError(unloadable);

      if (opts.dryRun) {
        const plan = planApply(await readInput(loaded), target, opts);
        return {
          dryRun: true,
          failed: null,
          results: [
            ...plan.alreadyApplied.map((name) => step(name, "already_applied", true)),
            ...plan.steps.map((m) => ({
              ...step(m.name, "would_apply", m.transactional),
              sql: m.up,
            })),
          ],
        };
      }

      // Nothing to do — what a deploy finds on almost every release — is answered without taking
      // the lock: a read showing every targeted migration applied stays true whatever a
      // concurrent applier does. Anything else (work to do, or a refusal that a run in progress
      // may be about to clear) is decided under the lock, on a fresh read.
      const unlocked = await readInput(loaded);
      let early: ApplyPlan | null = null;
      try {
        early = planApply(unlocked, target, opts);
      } catch {
        early = null;
      }
      if (early !== null && early.steps.length === 0) {
        return {
          dryRun: false,
          failed: null,
          results: early.alreadyApplied.map((name) => step(name, "already_applied", true)),
        };
      }

      return underLock(opts.actor, async () => {
        // A per-unit lock excludes nothing across units, so a second read would gain nothing.
        const input = executor.lockScope === "per-unit" ? unlocked : await readInput(loaded);
        const plan = planApply(input, target, opts);
        const results: ApplyStepResult[] = plan.alreadyApplied.map((name) =>
          step(name, "already_applied", true),
        );
        let failed: ApplyStepResult | null = null;
        for (const migration of plan.steps) {
          if (failed) {
            results.push(step(migration.name, "skipped", migration.transactional));
            continue;
          }
          const outcome = await executor.applyMigration({
            migration: {
              name: migration.name,
              sql: migration.up,
              transactional: migration.transactional,
              checksum: migration.checksum,
            },
            actor: opts.actor,
            // Another applier's claim is waited for like the run lock (only per-unit locking
            // can meet one): replicas starting together then all go on once it is applied.
            claimWaitMs: lockTimeoutMs,
          });
          const result: ApplyStepResult = {
            ...step(migration.name, outcome.status, migration.transactional),
            executionTimeMs: outcome.status === "already_applied" ? null : outcome.executionTimeMs,
            error: outcome.status === "failed" ? outcome.error : null,
          };
          results.push(result);
          if (outcome.status !== "already_applied") {
            log({
              migrationName: migration.name,
              action: "apply",
              outcome: outcome.status === "applied" ? "succeeded" : "failed",
              executionTimeMs: outcome.executionTimeMs,
              actor: opts.actor,
              error: outcome.status === "failed" ? outcome.error.message : null,
            });
          }
          if (outcome.status === "failed") failed = result;
        }
        return { dryRun: false, results, failed };
      });
    },

    async rollback(opts) {
      requireActor(opts.actor);
      requireName(opts.migrationName, "migrationName");
      const report = (
        status: RollbackReport["status"],
        extra: Partial<RollbackReport> = {},
      ): RollbackReport => ({
        migrationName: opts.migrationName,
        dryRun: Boolean(opts.dryRun),
        status,
        executionTimeMs: null,
        error: null,
        sql: null,
        transactional: true,
        ...extra,
      });

      if (opts.dryRun) {
        const plan = planRollback(await readInput(), opts.migrationName, opts);
        if (plan.kind === "not_applied") return report("not_applied");
        return report(
          "would_roll_back",
          plan.kind === "run_down"
            ? { sql: plan.migration.down, transactional: plan.migration.downTransactional }
            : {},
        );
      }

      return underLock(opts.actor, async () => {
        const plan = planRollback(await readInput(), opts.migrationName, opts);
        if (plan.kind === "not_applied") return report("not_applied");
        if (plan.kind === "mark_only") {
          await record([plan.change], opts.actor);
          return report("marked_rolled_back");
        }
        const down = plan.migration.down as string;
        const transactional = plan.migration.downTransactional;
        const outcome = await executor.rollbackMigration({
          migration: {
            name: plan.migration.name,
            sql: down,
            transactional,
            checksum: plan.migration.checksum,
          },
          actor: opts.actor,
        });
        if (outcome.status === "not_applied") return report("not_applied", { transactional });
        log({
          migrationName: opts.migrationName,
          action: "rollback",
          outcome: outcome.status === "rolled_back" ? "succeeded" : "failed",
          executionTimeMs: outcome.executionTimeMs,
          actor: opts.actor,
          error: outcome.status === "failed" ? outcome.error.message : null,
        });
        return report(outcome.status, {
          executionTimeMs: outcome.executionTimeMs,
          error: outcome.status === "failed" ? outcome.error : null,
          sql: down,
          transactional,
        });
      });
    },

    async rollbackMany(opts) {
      requireActor(opts.actor);
      const target = rollbackRunTarget(opts);
      const dryRun = Boolean(opts.dryRun);
      const markOnly = Boolean(opts.markOnly);
      const report = (
        results: RollbackStepResult[],
        failed: RollbackStepResult | null,
      ): RollbackRunReport => ({
        dryRun,
        to: target.kind === "to" ? target.migrationName : null,
        steps: target.kind === "steps" ? target.count : null,
        markOnly,
        results,
        failed,
      });
      const rollbackStep = (
        migrationName: string,
        status: RollbackStepStatus,
        transactional: boolean,
        extra: Partial<RollbackStepResult> = {},
      ): RollbackStepResult => ({
        migrationName,
        status,
        executionTimeMs: null,
        error: null,
        sql: null,
        transactional,
        ...extra,
      });

      if (dryRun) {
        const plan = planRollbackRun(await readInput(), target, { markOnly });
        return report(
          plan.steps.map((s) =>
            s.kind === "run_down"
              ? rollbackStep(s.migration.name, "would_roll_back", s.migration.downTransactional, {
                  sql: s.migration.down,
                })
              : rollbackStep(s.migrationName, "would_roll_back", true),
          ),
          null,
        );
      }

      // Planned under the lock, on a fresh read: what another applier did meanwhile counts.
      return underLock(opts.actor, async () => {
        const plan = planRollbackRun(await readInput(), target, { markOnly });
        const results: RollbackStepResult[] = [];
        let failed: RollbackStepResult | null = null;
        for (const s of plan.steps) {
          const name = s.kind === "run_down" ? s.migration.name : s.migrationName;
          const transactional = s.kind === "run_down" ? s.migration.downTransactional : true;
          if (failed) {
            results.push(rollbackStep(name, "skipped", transactional));
            continue;
          }
          if (s.kind === "mark_only") {
            try {
              await record([s.change], opts.actor);
              results.push(rollbackStep(name, "marked_rolled_back", true));
            } catch (error) {
              // Only a per-unit executor can find it changed: someone rolled it back meanwhile.
              if (!(error instanceof StateConflictError)) throw error;
              results.push(rollbackStep(name, "not_applied", true));
            }
            continue;
          }
          const down = s.migration.down as string;
          const outcome = await executor.rollbackMigration({
            migration: {
              name,
              sql: down,
              transactional,
              checksum: s.migration.checksum,
            },
            actor: opts.actor,
          });
          if (outcome.status === "not_applied") {
            results.push(rollbackStep(name, "not_applied", transactional));
            continue;
          }
          log({
            migrationName: name,
            action: "rollback",
            outcome: outcome.status === "rolled_back" ? "succeeded" : "failed",
            executionTimeMs: outcome.executionTimeMs,
            actor: opts.actor,
            error: outcome.status === "failed" ? outcome.error.message : null,
          });
          const result = rollbackStep(name, outcome.status, transactional, {
            executionTimeMs: outcome.executionTimeMs,
            error: outcome.status === "failed" ? outcome.error : null,
            sql: down,
          });
          results.push(result);
          if (outcome.status === "failed") failed = result;
        }
        return report(results, failed);
      });
    },

    async adopt({ from, table, actor }) {
      requireActor(actor);
      // Refuses an unknown tool or a malformed table name before touching the database.
      foreignTableOf({ kind: from, table });
      const loaded = await source.load();
      // A read only, outside the lock: a missing table should not make other appliers wait.
      const foreign = await executor.readForeignVersions({ kind: from, table });
      return underLock(actor, async () => {
        const plan = planAdopt(await readInput(loaded), foreign, from);
        await record(plan.changes, actor);
        return { from, table: foreign.table, results: plan.results };
      });
    },

    async baseline({ upTo, actor }) {
      requireActor(actor);
      requireName(upTo, "upTo");
      return underLock(actor, async () => {
        const input = await readInput();
        const changes = planBaseline(input, upTo);
        await record(changes, actor);
        const baselined = new Set(changes.map((c) => c.migrationName));
        const status = planStatus(input);
        return {
          results: status.migrations
            .filter(
              (m) =>
                baselined.has(m.name) ||
                (m.state === "applied" && !m.missing && isAtOrBefore(status, m.name, upTo)),
            )
            .map((m) => ({
              migrationName: m.name,
              status: baselined.has(m.name) ? "baselined" : "already_applied",
            })),
        };
      });
    },

    async resolve({ migrationName, as, actor }) {
      requireActor(actor);
      requireName(migrationName, "migrationName");
      return underLock(actor, async () => {
        const input = await readInput();
        const before = describeState(planStatus(input), migrationName);
        const change = planResolve(input, migrationName, as);
        await record([change], actor);
        const after = describeState(
          planStatus({ ...input, records: await executor.readState() }),
          migrationName,
        );
        return { migrationName, as, before, after };
      });
    },

    async history(opts = {}) {
      const limit = opts.limit ?? DEFAULT_HISTORY_LIMIT;
      if (!isValidHistoryLimit(limit)) {
        throw new InvalidInputError(`limit must be an integer from 1 to ${MAX_HISTORY_LIMIT}.`);
      }
      if (opts.cursor !== undefined && !HISTORY_CURSOR_PATTERN.test(opts.cursor)) {
        throw new InvalidInputError("cursor must be a value returned as nextCursor.");
      }
      // One extra row tells whether an older page exists without a count query.
      const events = await executor.readEvents({
        migrationName: opts.migrationName,
        before: opts.cursor,
        limit: limit + 1,
      });
      const page = events.slice(0, limit);
      return { events: page, nextCursor: events.length > limit ? (page.at(-1)?.id ?? null) : null };
    },
  };
}

function step(
  migrationName: string,
  status: ApplyStepStatus,
  transactional: boolean,
): ApplyStepResult {
  return { migrationName, status, executionTimeMs: null, error: null, sql: null, transactional };
}

function applyTarget(opts: ApplyOptions): ApplyTarget {
  if (opts.migrationName !== undefined && opts.upTo !== undefined) {
    throw new InvalidInputError(
      "Give either migrationName (exactly that one) or upTo (everything up to it), not both.",
    );
  }
  if (opts.migrationName !== undefined) {
    requireName(opts.migrationName, "migrationName");
    return { kind: "one", migrationName: opts.migrationName };
  }
  if (opts.upTo !== undefined) {
    requireName(opts.upTo, "upTo");
    return { kind: "upTo", migrationName: opts.upTo };
  }
  return { kind: "all" };
}

function rollbackRunTarget(opts: RollbackRunOptions): RollbackRunTarget {
  if ((opts.to === undefined) === (opts.steps === undefined)) {
    throw new InvalidInputError(
      "Give exactly one of to (roll back everything applied after that migration) or steps (the newest N).",
    );
  }
  if (opts.to !== undefined) {
    requireName(opts.to, "to");
    return { kind: "to", migrationName: opts.to };
  }
  const count = opts.steps as number;
  if (!Number.isInteger(count) || count < 1) {
    throw new InvalidInputError(`steps must be a whole number of at least 1 (got ${count}).`);
  }
  return { kind: "steps", count };
}

function requireName(name: string, field: string): void {
  if (!isValidMigrationName(name)) {
    throw new InvalidInputError(
      `${field} "${name}" is not a migration name (${MIGRATION_NAME_RULE}).`,
    );
  }
}

function requireActor(actor: string): void {
  if (actor.trim() === "")
    throw new InvalidInputError("An actor is required: every change is recorded with who made it.");
  if (!isValidActor(actor)) throw new InvalidInputError(`The actor must be ${ACTOR_RULE}.`);
}

function isAtOrBefore(status: StatusReport, name: string, upTo: string): boolean {
  const names = status.migrations.map((m) => m.name);
  return names.indexOf(name) <= names.indexOf(upTo);
}

function describeState(status: StatusReport, name: string): string {
  const view = status.migrations.find((m) => m.name === name);
  if (!view) return "unknown";
  if (view.state === "applied" && view.checksum.state === "drift") return "applied (drifted)";
  if (view.state === "pending" && view.rolledBackAt) return "rolled_back";
  return view.state;
}
