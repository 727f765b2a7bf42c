import {
  InvalidInputError,
  InvalidMigrationFileError,
  LintRefusedError,
  MigrationNotFoundError,
  type SqlFailure,
  StateConflictError,
  UnsupportedError,
} from "./errors.ts";
import type { Bookkeeping, Executor, LockHandle, MigrationTimeouts } from "./executor.ts";
import { foreignTableOf } from "./foreign-history.ts";
import type { LintReport } from "./lint.ts";
import { type LinterLoader, lintWithSizes, requireLinter } from "./lint-run.ts";
import type { Migration } from "./migration.ts";
import {
  type AdoptResult,
  type ApplyPlan,
  type ApplyTarget,
  fileProblemsBlocking,
  type PlanInput,
  planAdopt,
  planApply,
  planBaseline,
  planInterrupted,
  planResolve,
  planRollback,
  planRollbackRun,
  planStatus,
  type Resolution,
  type RollbackRunTarget,
  type StatusReport,
} from "./planner.ts";
import type { MigrationFinishedEvent, RunKind, RunProgress, RunProgressEvent } from "./progress.ts";
import type { MigrationAction, MigrationEvent } from "./records.ts";
import { type RehearseReport, rehearsalReport, rehearsalRequest } from "./rehearse-plan.ts";
import {
  ACTOR_RULE,
  DEFAULT_HISTORY_LIMIT,
  type ForeignTool,
  HISTORY_CURSOR_RULE,
  isValidActor,
  isValidHistoryCursor,
  isValidHistoryLimit,
  isValidLockTimeoutMs,
  isValidMigrationName,
  isValidStatementTimeoutMs,
  MAX_HISTORY_LIMIT,
  MAX_LOCK_TIMEOUT_MS,
  MAX_STATEMENT_TIMEOUT_MS,
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
  /**
   * Loads the lint (SPEC §9) for `lint` and strict applies — `loadLinter` from
   * `@studio/migrations-lint`, which the core cannot import. Called when first needed, so a run
   * that does not lint never loads the parser. Without it, those are refused (`UNSUPPORTED`).
   */
  linter?: LinterLoader | undefined;
}

export interface ApplyOptions {
  /** Apply exactly this migration (refused while earlier ones are pending). */
  migrationName?: string | undefined;
  /** Apply every pending migration up to and including this one. */
  upTo?: string | undefined;
  dryRun?: boolean | undefined;
  allowOutOfOrder?: boolean | undefined;
  actor: string;
  /** Reports the run as it happens (see `RunProgressEvent`); nothing on a dry run. */
  progress?: RunProgress | undefined;
  /** This run's limits for the migrations' SQL, in place of the executor's (see `MigrationTimeouts`). */
  timeouts?: MigrationTimeouts | undefined;
  /**
   * Refuse, before anything runs, when the lint finds an error-level finding in the migrations
   * the run would apply (`LintRefusedError`, carrying the lint's report); a dry run is refused
   * likewise. Needs the engine's `linter`.
   */
  strict?: boolean | undefined;
}

/** `lint` (SPEC §9): which migrations, and the limits the findings are worded for. */
export interface LintOptions {
  /**
   * Lint these migrations (by name, in version order, applied or not) instead of the pending ones.
   * Each must have a file that loads.
   */
  migrationNames?: readonly string[] | undefined;
  /** The run's limits, when an apply would be given its own (`lockTimeoutMs` words the waits). */
  timeouts?: MigrationTimeouts | undefined;
}

/** `rehearse` (SPEC §9): what an apply with the same target would run, run and rolled back. */
export interface RehearseOptions {
  /** Rehearse every pending migration up to and including this one; all pending when absent. */
  upTo?: string | undefined;
  allowOutOfOrder?: boolean | undefined;
  /** Who asks: the run lock's holder while the rehearsal runs. Nothing is recorded. */
  actor: string;
  /** The rehearsal's limits, in place of the executor's (see `MigrationTimeouts`). */
  timeouts?: MigrationTimeouts | undefined;
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
  /** Reports the run (one migration) as it happens; nothing on a dry run. */
  progress?: RunProgress | undefined;
  /** This run's limits for the down SQL, in place of the executor's. */
  timeouts?: MigrationTimeouts | undefined;
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
  /** Reports the run as it happens; nothing on a dry run. */
  progress?: RunProgress | undefined;
  /** This run's limits for the down SQL, in place of the executor's. */
  timeouts?: MigrationTimeouts | undefined;
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

/** One migration's SQL, for reading before or after it runs (`migrations.sql`). */
export interface MigrationSql {
  migrationName: string;
  /** The file's up section as it runs; null when there is no file (or it does not load). */
  up: string | null;
  /** The file's down section; null without a file or a down section. */
  down: string | null;
  /** Whether each section runs in a transaction (the file's settings; true without a file). */
  transactional: boolean;
  downTransactional: boolean;
  /**
   * The up section as sent when it last ran (`up_sql`): compared with `up`, what changed on disk
   * since. Null when nothing was recorded (never run, baselined, resolved, or failed inside a
   * transaction) or when the executor cannot read it (`recordedUpReadable` false).
   */
  recordedUp: string | null;
  /** Whether the executor can read the recorded SQL at all (`Executor.readRecordedSql`). */
  recordedUpReadable: boolean;
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
  /** A migration's SQL: the file's sections and what was recorded when it ran. Reads only. */
  sql(options: { migrationName: string }): Promise<MigrationSql>;
  /**
   * Lints the up sections of the pending migrations (or of the named ones) with the target's
   * table sizes when the executor can read them. Reads only. Needs the engine's `linter`.
   */
  lint(options?: LintOptions): Promise<LintReport>;
  /**
   * Runs what an apply would run — its transactional migrations — on the target inside one
   * transaction, under the run lock and the executor's timeouts, then rolls it back: each
   * statement's time and locks, nothing recorded. Needs an executor that can (`rehearse`).
   */
  rehearse(options: RehearseOptions): Promise<RehearseReport>;
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
    const { interrupted } = await executor.recordChanges(changes, actor);
    // An interrupted attempt's line, by the operation that wrote its event: its runner never
    // logged how it ended.
    for (const event of interrupted) {
      log({
        migrationName: event.migrationName,
        action: event.action,
        outcome: "failed",
        executionTimeMs: null,
        actor: event.actor ?? actor,
        error: event.errorMessage,
      });
    }
    for (const change of changes) {
      if (change.kind === "record_interrupted") continue;
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

  /**
   * `plan()` — what an operation that writes under the lock plans — or, when it refuses, the
   * refusal, after the failed events owed to the attempts its read shows interrupted
   * (`planInterrupted`): an apply refused because of one is the operation that finds it. The
   * refusal is the answer even should the database not take them; the next operation records
   * them then. When `plan()` succeeds, the caller records them, first of what it records.
   */
  const unlessRefused = async <T>(
    plan: () => T,
    interrupted: Bookkeeping[],
    actor: string,
  ): Promise<T> => {
    try {
      return plan();
    } catch (refusal) {
      await record(interrupted, actor).catch(() => {});
      throw refusal;
    }
  };

  /** A strict apply's check: `LintRefusedError` when the lint finds an error in `steps`. */
  const refuseLintErrors = async (
    steps: readonly Migration[],
    timeouts: MigrationTimeouts | undefined,
  ): Promise<void> => {
    const linter = await requireLinter(options.linter, "apply strictly");
    if (steps.length === 0) return;
    const report = await lintWithSizes(linter, executor, steps, timeouts);
    if (report.errors > 0) throw new LintRefusedError(report);
  };

  return {
    executor,

    async list() {
      return planStatus(await readInput());
    },

    async apply(opts) {
      requireActor(opts.actor);
      const target = applyTarget(opts);
      const timeouts = runTimeouts(opts.timeouts);
      // Parse before taking the lock: a broken file should not make others wait. It blocks only
      // an apply that would have to pass it (SPEC §2); warnings block nothing.
      const loaded = await source.load();
      const unloadable = fileProblemsBlocking(loaded.problems, target);
      if (unloadable.length > 0) throw new InvalidMigrationFileError(unloadable);

      if (opts.dryRun) {
        const plan = planApply(await readInput(loaded), target, opts);
        if (opts.strict) await refuseLintErrors(plan.steps, timeouts.timeouts);
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
        const interrupted = planInterrupted(input);
        const plan = await unlessRefused(
          () => planApply(input, target, opts),
          interrupted,
          opts.actor,
        );
        await record(interrupted, opts.actor);
        // Under the lock, on the plan that runs: what is linted is exactly what would apply.
        if (opts.strict) await refuseLintErrors(plan.steps, timeouts.timeouts);
        const results: ApplyStepResult[] = plan.alreadyApplied.map((name) =>
          step(name, "already_applied", true),
        );
        let failed: ApplyStepResult | null = null;
        const run = reportRun(
          opts.progress,
          "apply",
          plan.steps.map((m) => m.name),
        );
        for (const [index, migration] of plan.steps.entries()) {
          if (failed) {
            results.push(step(migration.name, "skipped", migration.transactional));
            continue;
          }
          run.migrationStarted(index, migration.transactional);
          const outcome = await run.guard(() =>
            executor.applyMigration({
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
              ...timeouts,
            }),
          );
          const result: ApplyStepResult = {
            ...step(migration.name, outcome.status, migration.transactional),
            executionTimeMs: outcome.status === "already_applied" ? null : outcome.executionTimeMs,
            error: outcome.status === "failed" ? outcome.error : null,
          };
          results.push(result);
          run.migrationFinished(index, result);
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
        run.finished(failed?.migrationName ?? null);
        return { dryRun: false, results, failed };
      });
    },

    async rollback(opts) {
      requireActor(opts.actor);
      requireName(opts.migrationName, "migrationName");
      const timeouts = runTimeouts(opts.timeouts);
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
        const input = await readInput();
        const interrupted = planInterrupted(input);
        const plan = await unlessRefused(
          () => planRollback(input, opts.migrationName, opts),
          interrupted,
          opts.actor,
        );
        await record(interrupted, opts.actor);
        if (plan.kind === "not_applied") return report("not_applied");
        const run = reportRun(opts.progress, "rollback", [opts.migrationName]);
        if (plan.kind === "mark_only") {
          run.migrationStarted(0, true);
          await run.guard(() => record([plan.change], opts.actor));
          const marked = report("marked_rolled_back");
          run.migrationFinished(0, stepOf(marked));
          run.finished(null);
          return marked;
        }
        const down = plan.migration.down as string;
        const transactional = plan.migration.downTransactional;
        run.migrationStarted(0, transactional);
        const outcome = await run.guard(() =>
          executor.rollbackMigration({
            migration: {
              name: plan.migration.name,
              sql: down,
              transactional,
              checksum: plan.migration.checksum,
            },
            actor: opts.actor,
            ...timeouts,
          }),
        );
        if (outcome.status === "not_applied") {
          const notApplied = report("not_applied", { transactional });
          run.migrationFinished(0, stepOf(notApplied));
          run.finished(null);
          return notApplied;
        }
        log({
          migrationName: opts.migrationName,
          action: "rollback",
          outcome: outcome.status === "rolled_back" ? "succeeded" : "failed",
          executionTimeMs: outcome.executionTimeMs,
          actor: opts.actor,
          error: outcome.status === "failed" ? outcome.error.message : null,
        });
        const done = report(outcome.status, {
          executionTimeMs: outcome.executionTimeMs,
          error: outcome.status === "failed" ? outcome.error : null,
          sql: down,
          transactional,
        });
        run.migrationFinished(0, stepOf(done));
        run.finished(outcome.status === "failed" ? opts.migrationName : null);
        return done;
      });
    },

    async rollbackMany(opts) {
      requireActor(opts.actor);
      const target = rollbackRunTarget(opts);
      const timeouts = runTimeouts(opts.timeouts);
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
        const input = await readInput();
        const interrupted = planInterrupted(input);
        const plan = await unlessRefused(
          () => planRollbackRun(input, target, { markOnly }),
          interrupted,
          opts.actor,
        );
        await record(interrupted, opts.actor);
        const results: RollbackStepResult[] = [];
        let failed: RollbackStepResult | null = null;
        const run = reportRun(
          opts.progress,
          "rollback",
          plan.steps.map((s) => (s.kind === "run_down" ? s.migration.name : s.migrationName)),
        );
        for (const [index, s] of plan.steps.entries()) {
          const name = s.kind === "run_down" ? s.migration.name : s.migrationName;
          const transactional = s.kind === "run_down" ? s.migration.downTransactional : true;
          if (failed) {
            results.push(rollbackStep(name, "skipped", transactional));
            continue;
          }
          run.migrationStarted(index, transactional);
          if (s.kind === "mark_only") {
            let marked: RollbackStepResult;
            try {
              await record([s.change], opts.actor);
              marked = rollbackStep(name, "marked_rolled_back", true);
            } catch (error) {
              // Only a per-unit executor can find it changed: someone rolled it back meanwhile.
              if (!(error instanceof StateConflictError)) {
                run.aborted(error);
                throw error;
              }
              marked = rollbackStep(name, "not_applied", true);
            }
            results.push(marked);
            run.migrationFinished(index, marked);
            continue;
          }
          const down = s.migration.down as string;
          const outcome = await run.guard(() =>
            executor.rollbackMigration({
              migration: {
                name,
                sql: down,
                transactional,
                checksum: s.migration.checksum,
              },
              actor: opts.actor,
              ...timeouts,
            }),
          );
          if (outcome.status === "not_applied") {
            const notApplied = rollbackStep(name, "not_applied", transactional);
            results.push(notApplied);
            run.migrationFinished(index, notApplied);
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
          run.migrationFinished(index, result);
          if (outcome.status === "failed") failed = result;
        }
        run.finished(failed?.migrationName ?? null);
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
        const input = await readInput(loaded);
        const interrupted = planInterrupted(input);
        const plan = await unlessRefused(() => planAdopt(input, foreign, from), interrupted, actor);
        await record([...interrupted, ...plan.changes], actor);
        return { from, table: foreign.table, results: plan.results };
      });
    },

    async baseline({ upTo, actor }) {
      requireActor(actor);
      requireName(upTo, "upTo");
      return underLock(actor, async () => {
        const input = await readInput();
        const interrupted = planInterrupted(input);
        const changes = await unlessRefused(() => planBaseline(input, upTo), interrupted, actor);
        await record([...interrupted, ...changes], actor);
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
        const interrupted = planInterrupted(input);
        const change = await unlessRefused(
          () => planResolve(input, migrationName, as),
          interrupted,
          actor,
        );
        // The attempt a resolve clears gets its failed event first, in the same batch.
        await record([...interrupted, change], actor);
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
      if (opts.cursor !== undefined && !isValidHistoryCursor(opts.cursor)) {
        throw new InvalidInputError(`cursor must be ${HISTORY_CURSOR_RULE}.`);
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

    async sql({ migrationName }) {
      requireName(migrationName, "migrationName");
      const [loaded, records] = await Promise.all([source.load(), executor.readState()]);
      const migration = loaded.migrations.find((m) => m.name === migrationName) ?? null;
      const recorded = records.some((r) => r.migrationName === migrationName);
      if (migration === null && !recorded) throw new MigrationNotFoundError(migrationName);
      const recordedUpReadable = executor.readRecordedSql !== undefined;
      const recordedUp =
        recorded && executor.readRecordedSql ? await executor.readRecordedSql(migrationName) : null;
      return {
        migrationName,
        up: migration?.up ?? null,
        down: migration?.down ?? null,
        transactional: migration?.transactional ?? true,
        downTransactional: migration?.downTransactional ?? true,
        recordedUp,
        recordedUpReadable,
      };
    },

    async lint(opts = {}) {
      const timeouts = runTimeouts(opts.timeouts).timeouts;
      const names = opts.migrationNames;
      for (const name of names ?? []) requireName(name, "migrationNames");
      const linter = await requireLinter(options.linter, "lint");
      const loaded = await source.load();
      let migrations: Migration[];
      if (names === undefined) {
        // What a plain apply would run: the same refusal of files that do not load (SPEC §2).
        const unloadable = fileProblemsBlocking(loaded.problems, { kind: "all" });
        if (unloadable.length > 0) throw new InvalidMigrationFileError(unloadable);
        const status = planStatus(await readInput(loaded));
        const pending = new Set(status.pending.map((view) => view.name));
        migrations = loaded.migrations.filter((migration) => pending.has(migration.name));
      } else {
        const wanted = new Set(names);
        for (const name of wanted) {
          if (loaded.migrations.some((migration) => migration.name === name)) continue;
          const problems = loaded.problems.filter(
            (problem) => problem.severity === "error" && problem.migrationName === name,
          );
          if (problems.length > 0) throw new InvalidMigrationFileError(problems);
          throw new MigrationNotFoundError(name);
        }
        migrations = loaded.migrations.filter((migration) => wanted.has(migration.name));
      }
      return lintWithSizes(linter, executor, migrations, timeouts);
    },

    async rehearse(opts) {
      requireActor(opts.actor);
      const target: ApplyTarget =
        opts.upTo === undefined ? { kind: "all" } : applyTarget({ ...opts, upTo: opts.upTo });
      const timeouts = runTimeouts(opts.timeouts).timeouts;
      const rehearse = executor.rehearse?.bind(executor);
      if (rehearse === undefined) {
        throw new UnsupportedError(
          `Cannot rehearse: the ${executor.kind} executor cannot run migrations and roll them back.`,
        );
      }
      const loaded = await source.load();
      const unloadable = fileProblemsBlocking(loaded.problems, target);
      if (unloadable.length > 0) throw new InvalidMigrationFileError(unloadable);
      // Under the run lock, as an apply: the rehearsal runs what an apply right after it would,
      // and no apply is halfway through the same migrations meanwhile.
      return underLock(opts.actor, async () => {
        const plan = planApply(await readInput(loaded), target, opts);
        const request = rehearsalRequest(plan.steps, timeouts);
        const outcome =
          request.migrations.length === 0 ? { migrations: [] } : await rehearse(request);
        return rehearsalReport(plan.steps, outcome, timeouts);
      });
    },
  };
}

/**
 * A run's progress reporter: the events of `RunProgressEvent`, in order, to the caller's
 * listener — or nothing, when no listener was given. A listener that throws does not stop the
 * run: the run's outcome is the database's, not its observer's.
 */
function reportRun(progress: RunProgress | undefined, kind: RunKind, names: readonly string[]) {
  const total = names.length;
  let completed = 0;
  const emit = (event: RunProgressEvent) => {
    if (progress === undefined) return;
    try {
      progress.listener(event);
    } catch {
      // See above: observers cannot fail a run.
    }
  };
  const runId = progress?.runId ?? "";
  const name = (index: number) => names[index] as string;
  emit({
    type: "run_started",
    runId,
    kind,
    at: new Date(),
    migrationNames: [...names],
    total,
  });
  const finished = (
    outcome: "succeeded" | "failed" | "error",
    failed: string | null,
    error: string | null,
  ) =>
    emit({
      type: "run_finished",
      runId,
      kind,
      at: new Date(),
      outcome,
      completed,
      total,
      failedMigration: failed,
      error,
    });
  return {
    migrationStarted(index: number, transactional: boolean) {
      emit({
        type: "migration_started",
        runId,
        kind,
        at: new Date(),
        migrationName: name(index),
        index,
        total,
        transactional,
      });
    },
    migrationFinished(index: number, result: ApplyStepResult | RollbackStepResult) {
      completed++;
      // `kind` says which result this is: an apply's steps are apply results, a rollback's not.
      emit({
        type: "migration_finished",
        runId,
        kind,
        at: new Date(),
        migrationName: name(index),
        index,
        total,
        result,
      } as MigrationFinishedEvent);
    },
    /** The run ended: `failedMigration` names the migration that failed, if one did. */
    finished(failedMigration: string | null) {
      finished(failedMigration === null ? "succeeded" : "failed", failedMigration, null);
    },
    /** An error cuts the run short: its report ends with it (the caller rethrows it). */
    aborted(error: unknown) {
      finished("error", null, error instanceof Error ? error.message : String(error));
    },
    /** Runs one step; an error cutting the run short ends the report before it propagates. */
    async guard<T>(work: () => Promise<T>): Promise<T> {
      try {
        return await work();
      } catch (error) {
        this.aborted(error);
        throw error;
      }
    },
  };
}

/** A single rollback's report as a step result, for its `migration_finished` event. */
function stepOf(report: RollbackReport): RollbackStepResult {
  const { dryRun: _, ...result } = report;
  return result;
}

/** The run's own limits, checked, as an executor request's `timeouts` field (absent when none). */
function runTimeouts(timeouts: MigrationTimeouts | undefined): { timeouts?: MigrationTimeouts } {
  if (timeouts === undefined) return {};
  const { lockTimeoutMs, statementTimeoutMs } = timeouts;
  if (lockTimeoutMs !== undefined && !isValidLockTimeoutMs(lockTimeoutMs)) {
    throw new InvalidInputError(
      `lockTimeoutMs must be a whole number of milliseconds from 1 to ${MAX_LOCK_TIMEOUT_MS} (got ${lockTimeoutMs}).`,
    );
  }
  if (statementTimeoutMs !== undefined && !isValidStatementTimeoutMs(statementTimeoutMs)) {
    throw new InvalidInputError(
      `statementTimeoutMs must be a whole number of milliseconds from 1 to ${MAX_STATEMENT_TIMEOUT_MS} (got ${statementTimeoutMs}).`,
    );
  }
  const checked: MigrationTimeouts = {};
  if (lockTimeoutMs !== undefined) checked.lockTimeoutMs = lockTimeoutMs;
  if (statementTimeoutMs !== undefined) checked.statementTimeoutMs = statementTimeoutMs;
  return Object.keys(checked).length === 0 ? {} : { timeouts: checked };
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
