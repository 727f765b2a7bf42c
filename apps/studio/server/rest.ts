import type {
  ApplyReport,
  MigrationView,
  Problem,
  Remedy,
  RollbackReport,
  RollbackRunReport,
  StatusReport,
} from "@studio/migrations-core";
import {
  createCallerFactory,
  type MigrationErrorData,
  migrationErrorData,
  migrationName,
} from "@studio/migrations-trpc";
import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import type { NextApiRequest, NextApiResponse } from "next";
import { z } from "zod";
import { type Caller, identifyCaller } from "./auth.ts";
import { HttpError, readJsonBody, requireMethod, sendJson } from "./http.ts";
import { studioMigrations } from "./migrations.ts";

/**
 * The REST contract of SPEC §5, as thin adapters over the same tRPC router: snake_case bodies in
 * and out, the same auth, the same statuses.
 */

export const applyBody = z
  .object({
    migration_name: migrationName.optional(),
    up_to: migrationName.optional(),
    dry_run: z.boolean().optional(),
    allow_out_of_order: z.boolean().optional(),
  })
  .strict();

/**
 * Exactly one of `migration_name` (that migration), `to` (every migration applied after it, which
 * stays applied) or `steps` (the newest N), SPEC §4 Rollback.
 */
export const rollbackBody = z
  .object({
    migration_name: migrationName.optional(),
    to: migrationName.optional(),
    steps: z.number().int("must be a whole number").min(1, "must be at least 1").optional(),
    mark_only: z.boolean().optional(),
    dry_run: z.boolean().optional(),
  })
  .strict()
  .refine(
    (v) => [v.migration_name, v.to, v.steps].filter((field) => field !== undefined).length === 1,
    {
      message:
        "give exactly one of migration_name (that migration), to (everything applied after it) or steps (the newest N)",
    },
  );

export type RestCaller = Awaited<ReturnType<typeof callerFor>>;

async function callerFor(actor: string) {
  const { router } = await studioMigrations();
  const { migrations } = createCallerFactory(router)({ actor });
  return {
    list: () => migrations.list(),
    // tRPC's proxies treat a bare `.apply(...)` as Function.prototype.apply.
    apply: (input: Parameters<typeof migrations.apply>[0]) =>
      migrations.apply.call(undefined, input),
    rollback: migrations.rollback,
  };
}

/** Runs a REST handler: method, auth, then errors mapped to their statuses with JSON bodies. */
export function restRoute(
  method: "GET" | "POST",
  handle: (context: { req: NextApiRequest; caller: RestCaller }) => Promise<unknown>,
) {
  return async (req: NextApiRequest, res: NextApiResponse) => {
    if (!requireMethod(req, res, method)) return;
    const who: Caller = await identifyCaller(req);
    if (!who.ok) return sendJson(res, who.status, { error: who.message });
    try {
      sendJson(res, 200, await handle({ req, caller: await callerFor(who.actor) }));
    } catch (error) {
      const [status, body] = errorResponse(error);
      sendJson(res, status, body);
    }
  };
}

export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) =>
      i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message,
    );
    throw new HttpError(400, `Invalid request body: ${issues.join("; ")}`);
  }
  return parsed.data;
}

export { readJsonBody };

function errorResponse(error: unknown): [number, Record<string, unknown>] {
  if (error instanceof HttpError) return [error.status, { error: error.message, ...error.body }];
  if (error instanceof TRPCError) {
    const status = getHTTPStatusCodeFromError(error);
    if (status >= 500 && error.code === "INTERNAL_SERVER_ERROR") {
      console.error(error.cause ?? error);
      return [500, { error: "Internal error." }];
    }
    // The same data the tRPC face sends in `error.data.migration`.
    const migration: MigrationErrorData | null = migrationErrorData(error);
    return [
      status,
      {
        error: error.message,
        ...(migration && {
          code: migration.code,
          remedy: restRemedy(migration.remedy),
          hint: migration.hint,
          migration_name: migration.migrationName,
          ...(migration.failure && { postgres_error: migration.failure }),
          ...(migration.results && {
            results: (migration.results as ApplyReport["results"]).map(restStep),
          }),
        }),
      },
    ];
  }
  console.error(error);
  return [500, { error: "Internal error." }];
}

export function restStatus(report: StatusReport) {
  return {
    applied: report.applied.map(restView),
    pending: report.pending.map(restView),
    problems: report.problems.map(restProblem),
    last_applied: report.lastApplied,
  };
}

function restView(view: MigrationView) {
  return {
    migration_name: view.name,
    state: view.state,
    applied_at: view.appliedAt,
    applied_by: view.appliedBy,
    execution_time_ms: view.executionTimeMs,
    checksum: view.checksum.file,
    recorded_checksum: view.checksum.recorded,
    checksum_state: view.checksum.state,
    has_down: view.hasDown,
    transactional: view.transactional,
    out_of_order: view.outOfOrder,
    missing: view.missing,
    rolled_back_at: view.rolledBackAt,
    rolled_back_by: view.rolledBackBy,
    last_error: view.lastError,
  };
}

function restProblem(problem: Problem) {
  return {
    kind: problem.kind,
    migration_name: problem.migrationName,
    message: problem.message,
    remedy: restRemedy(problem.remedy),
    hint: problem.hint,
    blocking: problem.blocking,
  };
}

/** A remedy in the REST face's snake_case: `{ kind: "resolve", migration_name: "…", … }`. */
function restRemedy(remedy: Remedy | null): Record<string, unknown> | null {
  if (remedy === null) return null;
  return Object.fromEntries(
    Object.entries(remedy).map(([key, value]) => [
      key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`),
      value,
    ]),
  );
}

function restStep(step: ApplyReport["results"][number] | RollbackRunReport["results"][number]) {
  return {
    migration_name: step.migrationName,
    status: step.status,
    execution_time_ms: step.executionTimeMs,
    ...(step.error && { postgres_error: step.error }),
    ...(step.sql !== null && { sql: step.sql }),
  };
}

export function restApply(report: ApplyReport) {
  return { results: report.results.map(restStep), ...(report.dryRun && { dry_run: true }) };
}

/** One migration's rollback, or — for `to` / `steps` — a step per migration, like apply's. */
export function restRollback(report: RollbackReport | RollbackRunReport) {
  if ("results" in report) {
    return { results: report.results.map(restStep), ...(report.dryRun && { dry_run: true }) };
  }
  return {
    migration_name: report.migrationName,
    status: report.status,
    execution_time_ms: report.executionTimeMs,
    ...(report.sql !== null && { sql: report.sql }),
    ...(report.dryRun && { dry_run: true }),
  };
}
