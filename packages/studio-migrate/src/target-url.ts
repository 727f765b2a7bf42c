import type {
  ApplyReport,
  ApplyStepResult,
  MigrationFinishedEvent,
  RollbackReport,
  RollbackRunReport,
  RollbackStepResult,
  SqlFailure,
} from "@studio/migrations-core";
import type { MigrationErrorData } from "@studio/migrations-trpc";
import { createMigrationsClient, type MigrationsClient } from "@studio/migrations-trpc/client";
import { CommandFailure } from "./failures.ts";
import { hintFor } from "./hints.ts";
import { lintRefusal } from "./lint-output.ts";
import {
  createNodeHttpFetch,
  createNodeStreamFetch,
  formatSeconds,
  NoAnswerError,
  UnexpectedResponseError,
} from "./node-http-fetch.ts";
import { StudioSilentError, watchRun } from "./run-watch.ts";
import type { RunTimeouts, Target, TargetConfig } from "./target.ts";

type UrlConfig = Extract<TargetConfig, { mode: "url" }>;

/**
 * A running Studio, through the typed tRPC client. Every request must be answered within
 * `--timeout`; a run (`apply`, `rollback`) is watched over `migrations.progress` instead, so that
 * its lines are printed as its migrations finish and a long migration still running keeps it
 * alive (see `run-watch.ts`). Dry runs change nothing and answer at once: plain requests.
 */
export function openUrlTarget(config: UrlConfig, note: (message: string) => void): Target {
  const client = createMigrationsClient({
    url: config.url,
    secret: config.secret,
    actor: config.actor,
    fetch: createNodeHttpFetch({ answerWithinMs: config.timeoutMs }),
  });
  let runs: Promise<MigrationsClient> | null = null;
  let saidNoStream = false;
  /** Runs `call` (a run's mutation) watched; `onFinished` gets each migration as it finishes. */
  const watched = async <T>(
    call: (client: MigrationsClient, runId: string, signal: AbortSignal) => Promise<T>,
    onFinished: (event: MigrationFinishedEvent) => void,
  ): Promise<T> => {
    runs ??= openRunClient(config);
    const runClient = await runs;
    return watchRun(
      {
        client: runClient,
        timeoutMs: config.timeoutMs,
        studio: config.label,
        onFinished,
        onNoStream: (message) => {
          if (saidNoStream) return;
          saidNoStream = true;
          note(message);
        },
      },
      (runId, signal) => call(runClient, runId, signal),
    );
  };
  const guard = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      if (error instanceof CommandFailure) throw error;
      throw timeoutFailure(error, config) ?? urlFailure(error, config);
    }
  };

  return {
    config,
    list: () => guard(() => client.list.query()),
    apply: (request, onFinished) =>
      guard(async () => {
        const input = {
          ...(request.migrationName === null ? {} : { migrationName: request.migrationName }),
          ...(request.upTo === null ? {} : { upTo: request.upTo }),
          ...(request.allowOutOfOrder ? { allowOutOfOrder: true } : {}),
          ...(request.strict ? { strict: true } : {}),
          ...timeoutsInput(request.timeouts),
        };
        try {
          if (request.dryRun) return await client.apply.mutate({ ...input, dryRun: true });
          return await watched(
            (runClient, runId, signal) => runClient.apply.mutate({ ...input, runId }, { signal }),
            (event) => {
              if (event.kind !== "apply") return;
              const { migrationName, status, executionTimeMs } = event.result;
              onFinished({ migrationName, status, executionTimeMs });
            },
          );
        } catch (error) {
          // A migration that failed is a 422 carrying every step: the same report direct mode returns.
          const report = failedApply(error);
          if (report) return report;
          throw error;
        }
      }),
    rollback: (request) =>
      guard(async () => {
        const input = {
          migrationName: request.migrationName,
          ...(request.markOnly ? { markOnly: true } : {}),
          ...timeoutsInput(request.timeouts),
        };
        let report: RollbackReport | RollbackRunReport;
        try {
          // One migration: its line is printed with the answer; the stream keeps a long one alive.
          report = request.dryRun
            ? await client.rollback.mutate({ ...input, dryRun: true })
            : await watched(
                (runClient, runId, signal) =>
                  runClient.rollback.mutate({ ...input, runId }, { signal }),
                () => {},
              );
        } catch (error) {
          const failed = failedRollback(error, request.migrationName);
          if (failed) return failed;
          throw error;
        }
        if ("results" in report) throw unexpectedAnswer(config, "a rollback run", "one rollback");
        return report;
      }),
    rollbackMany: (request, onFinished) =>
      guard(async () => {
        const input = {
          ...(request.to === null ? {} : { to: request.to }),
          ...(request.steps === null ? {} : { steps: request.steps }),
          ...(request.markOnly ? { markOnly: true } : {}),
          ...timeoutsInput(request.timeouts),
        };
        let report: RollbackReport | RollbackRunReport;
        try {
          report = request.dryRun
            ? await client.rollback.mutate({ ...input, dryRun: true })
            : await watched(
                (runClient, runId, signal) =>
                  runClient.rollback.mutate({ ...input, runId }, { signal }),
                (event) => {
                  if (event.kind !== "rollback") return;
                  const { migrationName, status, executionTimeMs } = event.result;
                  onFinished({ migrationName, status, executionTimeMs });
                },
              );
        } catch (error) {
          // A step that failed is a 422 carrying every step: the same report direct mode returns.
          const failed = failedRollbackRun(error, request);
          if (failed) return failed;
          throw error;
        }
        if (!("results" in report)) throw unexpectedAnswer(config, "one rollback", "a run");
        return report;
      }),
    adopt: (request) =>
      guard(() =>
        client.adopt.mutate({
          from: request.from,
          ...(request.table === null ? {} : { table: request.table }),
        }),
      ),
    baseline: (upTo) => guard(() => client.baseline.mutate({ upTo })),
    resolve: (migrationName, as) => guard(() => client.resolve.mutate({ migrationName, as })),
    history: (query) =>
      guard(() =>
        client.history.query({
          ...(query.limit === null ? {} : { limit: query.limit }),
          ...(query.cursor === null ? {} : { cursor: query.cursor }),
          ...(query.migrationName === null ? {} : { migrationName: query.migrationName }),
        }),
      ),
    lint: (request) =>
      guard(() =>
        client.lint.query({
          ...(request.migrationNames.length === 0
            ? {}
            : { migrationNames: [...request.migrationNames] }),
          ...(request.lockTimeoutMs === null ? {} : { lockTimeoutMs: request.lockTimeoutMs }),
        }),
      ),
    // Answered when the rehearsal has rolled back: within --timeout, like any request.
    rehearse: (request) =>
      guard(() =>
        client.rehearse.mutate({
          ...(request.upTo === null ? {} : { upTo: request.upTo }),
          ...(request.allowOutOfOrder ? { allowOutOfOrder: true } : {}),
          ...timeoutsInput(request.timeouts),
        }),
      ),
    // Every request closes its connection (see node-http-fetch.ts), and a run's progress stream
    // ends with the run: nothing stays open.
    close: async () => {},
  };
}

/**
 * The client a run's mutation goes through: no answer timeout of its own (its liveness is its
 * progress stream's, see `watchRun`), and the progress stream over the `eventsource` package
 * (Node 20 has no `EventSource`), loaded only when a run needs it.
 */
async function openRunClient(config: UrlConfig): Promise<MigrationsClient> {
  const { EventSource } = await import("eventsource");
  return createMigrationsClient({
    url: config.url,
    secret: config.secret,
    actor: config.actor,
    fetch: createNodeHttpFetch({ answerWithinMs: null }),
    eventSource: {
      EventSource,
      fetch: createNodeStreamFetch({ answerWithinMs: config.timeoutMs }),
    },
  });
}

/** `--lock-timeout` / `--statement-timeout` as the API takes them. */
function timeoutsInput(timeouts: RunTimeouts) {
  return {
    ...(timeouts.lockTimeoutMs === null ? {} : { lockTimeoutMs: timeouts.lockTimeoutMs }),
    ...(timeouts.statementTimeoutMs === null
      ? {}
      : { statementTimeoutMs: timeouts.statementTimeoutMs }),
  };
}

/**
 * Studio said nothing for `--timeout`: a request went unanswered, or a run's progress stopped.
 * A run may still be going on there, so the hint points at `status` before anything is retried.
 */
function timeoutFailure(error: unknown, config: UrlConfig): CommandFailure | null {
  const check = `\`studio-migrate status${config.paste}\``;
  if (error instanceof StudioSilentError) {
    return new CommandFailure({
      code: "STUDIO_TIMEOUT",
      message: error.message,
      hint: `The run may still be going on in Studio: check with ${check} before running it again. If Studio is only slow to answer, raise --timeout (now ${formatSeconds(config.timeoutMs)}).`,
    });
  }
  const silent = causes(error).find((cause) => cause instanceof NoAnswerError);
  if (silent === undefined) return null;
  return new CommandFailure({
    code: "STUDIO_TIMEOUT",
    message: `Studio at ${config.label} did not answer within ${formatSeconds(config.timeoutMs)}.`,
    hint: `Check that Studio is up and answering (${config.label}/api/health); if it is only slow, raise --timeout.`,
  });
}

/** What a `TRPCClientError` carries, read defensively: a proxy in between may answer anything. */
interface ClientError {
  message: string;
  httpStatus: number | null;
  code: string | null;
  migration: MigrationErrorData | null;
  cause: unknown;
}

function clientError(error: unknown): ClientError | null {
  if (!(error instanceof Error) || error.name !== "TRPCClientError") return null;
  const data = (error as { data?: unknown }).data;
  const record = isRecord(data) ? data : {};
  const migration = isRecord(record.migration) ? record.migration : null;
  return {
    message: error.message,
    httpStatus: typeof record.httpStatus === "number" ? record.httpStatus : null,
    code: typeof record.code === "string" ? record.code : null,
    migration:
      migration !== null && typeof migration.code === "string"
        ? (migration as unknown as MigrationErrorData)
        : null,
    cause: error.cause,
  };
}

function failedApply(error: unknown): ApplyReport | null {
  const migration = clientError(error)?.migration;
  if (migration?.code !== "MIGRATION_FAILED" || !Array.isArray(migration.results)) return null;
  const results = withFailure(migration.results.filter(isStepResult), migration.failure);
  const failed = results.find((step) => step.status === "failed") ?? null;
  return failed ? { dryRun: false, results, failed } : null;
}

/**
 * The database's message travels once in a 422, in `failure`: the failed step gets it back, as
 * an older Studio sent it in the step itself.
 */
function withFailure<Step extends { status: string; error: unknown }>(
  results: Step[],
  failure: unknown,
): Step[] {
  if (failure === null || failure === undefined) return results;
  return results.map((step) =>
    step.status === "failed" && (step.error === null || step.error === undefined)
      ? { ...step, error: failure }
      : step,
  );
}

/**
 * A single rollback whose down section failed: a 422 carrying its one step. Without the step (an
 * older Studio) there is no saying whether the down ran in a transaction, so it stays an error
 * whose hint claims neither.
 */
function failedRollback(error: unknown, migrationName: string): RollbackReport | null {
  const migration = clientError(error)?.migration;
  if (migration?.code !== "MIGRATION_FAILED" || migration.failure === null) return null;
  const step = (migration.results ?? [])
    .filter(isStepResult)
    .find((s) => s.migrationName === migrationName && s.status === "failed");
  if (step === undefined) return null;
  return {
    migrationName,
    dryRun: false,
    status: "failed",
    executionTimeMs: step.executionTimeMs,
    error: migration.failure,
    sql: step.sql,
    transactional: step.transactional,
  };
}

function unexpectedAnswer(config: UrlConfig, got: string, asked: string): CommandFailure {
  return new CommandFailure({
    code: "BAD_RESPONSE",
    message: `Studio at ${config.label} answered ${got} when asked for ${asked}.`,
    hint: "Is Studio the same version as this studio-migrate?",
  });
}

function failedRollbackRun(
  error: unknown,
  request: { to: string | null; steps: number | null; markOnly: boolean },
): RollbackRunReport | null {
  const migration = clientError(error)?.migration;
  if (migration?.code !== "MIGRATION_FAILED" || !Array.isArray(migration.results)) return null;
  const results = withFailure(
    migration.results.filter(isStepResult) as unknown as RollbackStepResult[],
    migration.failure,
  );
  const failed = results.find((step) => step.status === "failed") ?? null;
  return failed
    ? {
        dryRun: false,
        to: request.to,
        steps: request.steps,
        markOnly: request.markOnly,
        results,
        failed,
      }
    : null;
}

function urlFailure(error: unknown, config: UrlConfig): CommandFailure {
  const studio = config.label;
  const shape = clientError(error);
  if (shape === null) {
    return new CommandFailure({
      code: "UNEXPECTED",
      message: `Unexpected error: ${error instanceof Error ? error.message : String(error)}`,
    });
  }
  if (shape.migration !== null) {
    const { code, remedy, hint, migrationName, failure } = shape.migration;
    if (code === "LINT_REFUSED" && isRecord(shape.migration.lint)) {
      return lintRefusal(shape.migration.lint, shape.message, hint);
    }
    if (code === "EXECUTOR_UNAVAILABLE") {
      return new CommandFailure({
        code,
        message: `Studio at ${studio} cannot use its database: ${shape.message}`,
        // Studio's own hint when it sent one: it knows more than "is it up?".
        hint:
          hint ??
          "Check Studio's database (its DATABASE_URL / PG_META_URL), or run the direct mode against the database with --database-url.",
      });
    }
    if (code === "DATABASE_REFUSED") {
      // Studio's database answered and refused Studio's role (a privilege, a standby).
      return new CommandFailure({
        code,
        message: `Studio at ${studio}: its database refused it. ${shape.message}`,
        hint:
          hint ??
          "Check the role of Studio's database connection (its DATABASE_URL / PG_META_URL).",
      });
    }
    return new CommandFailure({
      code,
      message: shape.message,
      hint: hintFor(remedy, hint, config.paste),
      migrationName,
      failure: failure as SqlFailure | null,
    });
  }
  switch (shape.httpStatus) {
    case 401:
      return new CommandFailure({
        code: "SECRET_REFUSED",
        message: `Studio at ${studio} refused the migration secret (401 Unauthorized).`,
        hint: "Check that MIGRATION_SECRET (or --secret) is the secret this Studio runs with.",
      });
    case 403:
      return new CommandFailure({
        code: "FORBIDDEN",
        message: `Studio at ${studio} does not allow this (403): ${shape.message}`,
        hint: `Ask for ${config.actor} to be allowed, or pass another --actor.`,
      });
    case 404:
      return new CommandFailure({
        code: "NOT_A_STUDIO",
        message: `${studio} has no migrations API (404: ${shape.message}).`,
        hint: "--url must be Studio's base URL: the CLI calls <url>/api/trpc/migrations.*.",
      });
    case null:
      break;
    default:
      return new CommandFailure({
        code: shape.code ?? "REQUEST_FAILED",
        message: `Studio at ${studio} answered ${shape.httpStatus}: ${shape.message}`,
        hint: shape.httpStatus >= 500 ? "Check Studio's logs; the request may be retried." : null,
      });
  }
  const cause = causes(shape.cause);
  const unexpected = cause.find((c) => c instanceof UnexpectedResponseError);
  const network = cause.find((c) => typeof (c as { code?: unknown }).code === "string");
  if (network !== undefined && unexpected === undefined) {
    return new CommandFailure({
      code: "STUDIO_UNREACHABLE",
      message: `Cannot reach Studio at ${studio}: ${network.message}`,
      hint: "Check --url, and that Studio is running and reachable from here.",
    });
  }
  return new CommandFailure({
    code: "BAD_RESPONSE",
    message: `${studio} did not answer as Studio's migrations API: ${unexpected?.message ?? shape.message}`,
    hint: "--url must be Studio's base URL: the CLI calls <url>/api/trpc/migrations.*.",
  });
}

/** An error and the errors it wraps, outermost first. */
function causes(error: unknown): Error[] {
  const chain: Error[] = [];
  for (let current = error; current instanceof Error && chain.length < 5; current = current.cause) {
    chain.push(current);
  }
  return chain;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function isStepResult(value: unknown): value is ApplyStepResult {
  return (
    isRecord(value) &&
    typeof value.migrationName === "string" &&
    typeof value.status === "string" &&
    typeof value.transactional === "boolean"
  );
}
