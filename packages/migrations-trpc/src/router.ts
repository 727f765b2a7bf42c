import {
  type AttemptLog,
  createMigrationEngine,
  type Executor,
  type MigrationEngine,
  type MigrationSource,
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
  listInput,
  resolveInput,
  rollbackInput,
} from "./inputs.ts";
import { authedProcedure, router } from "./trpc.ts";

export type MigrationsProcedure =
  | "list"
  | "apply"
  | "rollback"
  | "baseline"
  | "resolve"
  | "history"
  | "adopt";

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
    }
) & { authorize?: Authorize };

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
        });
  const authorize = options.authorize;
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
        const report = await engine.apply({ ...input, actor: ctx.actor });
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
        if (migrationName === undefined) {
          const run = await engine.rollbackMany({ to, steps, markOnly, dryRun, actor: ctx.actor });
          if (run.failed?.error) {
            throw new MigrationRunFailedError(
              run.failed.migrationName,
              run.failed.error,
              run.results,
            );
          }
          return run;
        }
        const report = await engine.rollback({ migrationName, markOnly, dryRun, actor: ctx.actor });
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
  };
  return router({ migrations });
}

export type MigrationsRouter = ReturnType<typeof createMigrationsRouter>;
