import { randomUUID } from "node:crypto";
import {
  type AttemptLog,
  createMigrationEngine,
  type Executor,
  type LinterLoader,
  type MigrationEngine,
  type MigrationSource,
  type MigrationTimeouts,
  type RollbackReport,
  type RollbackRunReport,
  type RollbackStepResult,
} from "@studio/migrations-core";
import { TRPCError } from "@trpc/server";
import { MigrationRunFailedError } from "./errors.ts";
import {
  adoptInput,
  applyInput,
  baselineInput,
  historyInput,
  lintInput,
  listInput,
  progressInput,
  rehearseInput,
  resolveInput,
  rollbackInput,
  sqlInput,
} from "./inputs.ts";
import { DEFAULT_HEARTBEAT_MS } from "./limits.ts";
import { ProgressHub, progressStream } from "./progress.ts";
import { RECORDED_POLL_MS, RecordedProgress } from "./recorded-progress.ts";
import { authedProcedure, router } from "./trpc.ts";

export type MigrationsProcedure =
  | "list"
  | "apply"
  | "rollback"
  | "baseline"
  | "resolve"
  | "history"
  | "adopt"
  | "progress"
  | "sql"
  | "lint"
  | "rehearse";

/** Decides whether an authenticated actor may call a procedure (default: yes). */
export type Authorize = (call: {
  actor: string;
  procedure: MigrationsProcedure;
}) => boolean | Promise<boolean>;

export type MigrationsRouterOptions = (
  | { engine: MigrationEngine }
  | {
      executor: Executor;
      source: MigrationSource;
      lockTimeoutMs?: number;
      /** One call per attempt, for the structured log (see `attemptLogLine`). */
      onAttempt?: (attempt: AttemptLog) => void;
      /** The lint's loader, for `lint` and strict applies (`loadLinter` from `@studio/migrations-lint`). */
      linter?: LinterLoader;
    }
) & {
  authorize?: Authorize;
  /**
   * Where runs publish their progress for `migrations.progress`: one per process (the default, a
   * hub of this router's own). Pass one to publish other runs there too.
   */
  progressHub?: ProgressHub;
  /**
   * How often `migrations.progress` reads the audit trail for migrations finished elsewhere,
   * while someone subscribes (default {@link RECORDED_POLL_MS}).
   */
  recordedPollMs?: number;
};

/**
 * The migrations router: procedures `migrations.list`, `migrations.apply`, … — the paths Studio
 * serves at `/api/trpc/migrations.*` (SPEC §5). The engine is created once, with the router (once
 * per process); the per-request context only says who is calling.
 *
 * The procedures sit in a plain object under `migrations` rather than in a router of their own
 * because tRPC reserves `apply` as a router key (its proxies emulate `Function.prototype.apply`);
 * nested this way the path is still `migrations.apply`. Through `createCaller`, call it as
 * `caller.migrations.apply.call(undefined, input)` for the same reason; typed clients and React
 * hooks (`.mutate`, `.mutationOptions`) are unaffected.
 */
export function createMigrationsRouter(options: MigrationsRouterOptions) {
  const engine =
    "engine" in options
      ? options.engine
      : createMigrationEngine({
          executor: options.executor,
          source: options.source,
          ...(options.lockTimeoutMs === undefined ? {} : { lockTimeoutMs: options.lockTimeoutMs }),
          ...(options.onAttempt === undefined ? {} : { onAttempt: options.onAttempt }),
          ...(options.linter === undefined ? {} : { linter: options.linter }),
        });
  const authorize = options.authorize;
  const hub = options.progressHub ?? new ProgressHub();
  // Other replicas' runs, through the database they share; this process's own are the hub's.
  const recorded = new RecordedProgress(engine, options.recordedPollMs ?? RECORDED_POLL_MS);
  hub.listen(({ event }) => recorded.noteLocal(event));
  /** The run's progress goes to the hub under the client's id, or one of the server's. */
  const progress = (id: string | undefined) => ({
    runId: id ?? randomUUID(),
    listener: hub.publish,
  });
  const procedure = (name: MigrationsProcedure) =>
    authedProcedure.use(async ({ ctx, next }) => {
      if (authorize && !(await authorize({ actor: ctx.actor, procedure: name }))) {
        throw new TRPCError({ code: "FORBIDDEN", message: `${ctx.actor} may not call ${name}.` });
      }
      return next();
    });

  const migrations = {
    /** Applied, pending and problems, with everything a UI row needs. */
    list: procedure("list")
      .input(listInput)
      .query(() => engine.list()),

    /** Applies all pending (no target), one migration, or everything up to one; or plans it (dryRun). */
    apply: procedure("apply")
      .input(applyInput)
      .mutation(async ({ ctx, input }) => {
        const { runId, lockTimeoutMs, statementTimeoutMs, ...target } = input;
        const report = await engine.apply({
          ...target,
          actor: ctx.actor,
          progress: progress(runId),
          timeouts: runTimeouts(lockTimeoutMs, statementTimeoutMs),
        });
        if (report.failed?.error) {
          throw new MigrationRunFailedError(
            report.failed.migrationName,
            report.failed.error,
            report.results,
          );
        }
        return report;
      }),

    /**
     * Rolls back one migration (`migrationName`: a `RollbackReport`), or a run of them (`to` /
     * `steps`: a `RollbackRunReport`, with `results`); or plans it (dryRun). A run whose step
     * failed is a 422 carrying every step's result, as for apply.
     */
    rollback: procedure("rollback")
      .input(rollbackInput)
      .mutation(async ({ ctx, input }): Promise<RollbackReport | RollbackRunReport> => {
        const { migrationName, to, steps, markOnly, dryRun } = input;
        const run = {
          actor: ctx.actor,
          progress: progress(input.runId),
          timeouts: runTimeouts(input.lockTimeoutMs, input.statementTimeoutMs),
        };
        if (migrationName === undefined) {
          const many = await engine.rollbackMany({ to, steps, markOnly, dryRun, ...run });
          if (many.failed?.error) {
            throw new MigrationRunFailedError(
              many.failed.migrationName,
              many.failed.error,
              many.results,
            );
          }
          return many;
        }
        const report = await engine.rollback({ migrationName, markOnly, dryRun, ...run });
        if (report.status === "failed" && report.error) {
          // Its one step, as a run's: how long it ran, its SQL, and whether it ran in a transaction.
          const { dryRun: _, ...step } = report;
          const results: RollbackStepResult[] = [step];
          throw new MigrationRunFailedError(report.migrationName, report.error, results);
        }
        return report;
      }),

    baseline: procedure("baseline")
      .input(baselineInput)
      .mutation(({ ctx, input }) => engine.baseline({ ...input, actor: ctx.actor })),

    resolve: procedure("resolve")
      .input(resolveInput)
      .mutation(({ ctx, input }) => engine.resolve({ ...input, actor: ctx.actor })),

    /**
     * Records as applied, without running them, the versions another tool (dbmate, the Supabase
     * CLI) recorded that match local files (SPEC §4 Adopt).
     */
    adopt: procedure("adopt")
      .input(adoptInput)
      .mutation(({ ctx, input }) => engine.adopt({ ...input, actor: ctx.actor })),

    /** The audit trail, newest first, by cursor. */
    history: procedure("history")
      .input(historyInput)
      .query(({ input }) => engine.history(input ?? {})),

    /**
     * The progress of runs, as server-sent events (`ProgressEvent`, tracked: a client gets
     * `{ id, data }`): run and migration started / finished for runs in this process, each
     * migration finished by runs elsewhere (`migration_recorded`, from the audit trail the
     * replicas share), and a heartbeat when nothing else was sent for `heartbeatMs` (default
     * 3 s) — idle, or with the running migration and its elapsed time. With `runId`, only that
     * run's events (wait for the first heartbeat, then call `apply` / `rollback` with the same
     * `runId`; its events published before the subscription started are sent first) — or, while
     * no run of that id is in this process, the migrations the caller's actor finishes elsewhere:
     * the run landed on another replica. Ends with `UNAUTHORIZED` once the caller's credentials
     * no longer hold (`stillAuthorized`). Read-only, like `list`.
     */
    progress: procedure("progress")
      .input(progressInput)
      .subscription(({ ctx, input, signal }) =>
        progressStream(hub, {
          runId: input?.runId ?? null,
          heartbeatMs: input?.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
          lastEventId: input?.lastEventId ?? null,
          signal,
          recorded,
          actor: ctx.actor,
          stillAuthorized: ctx.stillAuthorized,
        }),
      ),

    /**
     * One migration's SQL: the file's up and down sections, and the up section as it ran
     * (`recordedUp`, null when not recorded or the executor cannot read it) — what the page shows
     * on demand, and drift's diff.
     */
    sql: procedure("sql")
      .input(sqlInput)
      .query(({ input }) => engine.sql(input)),

    /**
     * Lints the pending migrations' up sections (or the named migrations'), with the target's
     * table sizes: a `LintReport`. Reads only. `NOT_IMPLEMENTED` when the engine has no linter.
     */
    lint: procedure("lint")
      .input(lintInput)
      .query(({ input }) =>
        engine.lint({
          migrationNames: input?.migrationNames,
          timeouts: runTimeouts(input?.lockTimeoutMs, undefined),
        }),
      ),

    /**
     * Runs what an apply would run (its transactional migrations) on the target in one
     * transaction and rolls it back: each statement's time and locks (a `RehearseReport`). A
     * mutation: it takes the run lock and, while it runs, the migrations' locks on live tables.
     * A statement that fails is in the report (`failed`), not an error: nothing was applied.
     */
    rehearse: procedure("rehearse")
      .input(rehearseInput)
      .mutation(({ ctx, input }) =>
        engine.rehearse({
          upTo: input?.upTo,
          allowOutOfOrder: input?.allowOutOfOrder,
          actor: ctx.actor,
          timeouts: runTimeouts(input?.lockTimeoutMs, input?.statementTimeoutMs),
        }),
      ),
  };
  return router({ migrations });
}

export type MigrationsRouter = ReturnType<typeof createMigrationsRouter>;

/** The run's own limits, as the engine takes them: absent when neither is given. */
function runTimeouts(
  lockTimeoutMs: number | undefined,
  statementTimeoutMs: number | undefined,
): MigrationTimeouts | undefined {
  if (lockTimeoutMs === undefined && statementTimeoutMs === undefined) return undefined;
  return {
    ...(lockTimeoutMs === undefined ? {} : { lockTimeoutMs }),
    ...(statementTimeoutMs === undefined ? {} : { statementTimeoutMs }),
  };
}
