import {
  createMigrationEngine,
  directorySource,
  formatFileProblem,
  InvalidMigrationFileError,
  isMigrationError,
  LintRefusedError,
  type MigrationTimeouts,
} from "@studio/migrations-core";
import { createPostgresExecutor, refusalOf } from "@studio/migrations-postgres";
import { CommandFailure } from "./failures.ts";
import { hintFor } from "./hints.ts";
import { lintRefusal } from "./lint-output.ts";
import type {
  FinishedRollback,
  FinishedStep,
  RunTimeouts,
  Target,
  TargetConfig,
} from "./target.ts";

type DirectConfig = Extract<TargetConfig, { mode: "direct" }>;

/** pg waits for a TCP connect as long as the OS does (minutes); a deploy step should not. */
const CONNECT_TIMEOUT_MS = 10_000;

/** The emergency path: the core and a `pg` executor in this process, no Studio involved. */
export function openDirectTarget(config: DirectConfig): Target {
  let onFinished: ((step: FinishedStep) => void) | null = null;
  let onRolledBack: ((step: FinishedRollback) => void) | null = null;
  let markingOnly = false;
  const executor = createPostgresExecutor({
    connection: {
      connectionString: config.databaseUrl,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    },
  });
  const engine = createMigrationEngine({
    executor,
    source: directorySource(config.migrationsDir),
    // Only `lint` and `apply --strict` load the parser (WebAssembly): not a plain apply.
    linter: async () => (await import("@studio/migrations-lint")).loadLinter(),
    onAttempt: (attempt) => {
      if (attempt.action === "rollback") {
        onRolledBack?.({
          migrationName: attempt.migrationName,
          status:
            attempt.outcome === "failed"
              ? "failed"
              : markingOnly
                ? "marked_rolled_back"
                : "rolled_back",
          executionTimeMs: attempt.executionTimeMs,
        });
        return;
      }
      if (attempt.action !== "apply") return;
      onFinished?.({
        migrationName: attempt.migrationName,
        status: attempt.outcome === "succeeded" ? "applied" : "failed",
        executionTimeMs: attempt.executionTimeMs,
      });
    },
  });
  const guard = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw directFailure(error, config);
    }
  };
  const { actor } = config;

  return {
    config,
    list: () => guard(() => engine.list()),
    apply: (request, finished) =>
      guard(async () => {
        onFinished = finished;
        try {
          return await engine.apply({
            migrationName: request.migrationName ?? undefined,
            upTo: request.upTo ?? undefined,
            dryRun: request.dryRun,
            allowOutOfOrder: request.allowOutOfOrder,
            strict: request.strict,
            actor,
            timeouts: engineTimeouts(request.timeouts),
          });
        } finally {
          onFinished = null;
        }
      }),
    rollback: ({ timeouts, ...request }) =>
      guard(() => engine.rollback({ ...request, actor, timeouts: engineTimeouts(timeouts) })),
    rollbackMany: (request, finished) =>
      guard(async () => {
        onRolledBack = finished;
        markingOnly = request.markOnly;
        try {
          return await engine.rollbackMany({
            to: request.to ?? undefined,
            steps: request.steps ?? undefined,
            markOnly: request.markOnly,
            dryRun: request.dryRun,
            actor,
            timeouts: engineTimeouts(request.timeouts),
          });
        } finally {
          onRolledBack = null;
          markingOnly = false;
        }
      }),
    adopt: (request) =>
      guard(() => engine.adopt({ from: request.from, table: request.table ?? undefined, actor })),
    baseline: (upTo) => guard(() => engine.baseline({ upTo, actor })),
    resolve: (migrationName, as) => guard(() => engine.resolve({ migrationName, as, actor })),
    history: (query) =>
      guard(() =>
        engine.history({
          limit: query.limit ?? undefined,
          cursor: query.cursor ?? undefined,
          migrationName: query.migrationName ?? undefined,
        }),
      ),
    lint: (request) =>
      guard(() =>
        engine.lint({
          ...(request.migrationNames.length === 0
            ? {}
            : { migrationNames: request.migrationNames }),
          timeouts: engineTimeouts({
            lockTimeoutMs: request.lockTimeoutMs,
            statementTimeoutMs: null,
          }),
        }),
      ),
    rehearse: (request) =>
      guard(() =>
        engine.rehearse({
          upTo: request.upTo ?? undefined,
          allowOutOfOrder: request.allowOutOfOrder,
          actor,
          timeouts: engineTimeouts(request.timeouts),
        }),
      ),
    close: () => executor.close(),
  };
}

/** `--lock-timeout` / `--statement-timeout` as the engine takes them (absent: its own). */
export function engineTimeouts(timeouts: RunTimeouts): MigrationTimeouts | undefined {
  const { lockTimeoutMs, statementTimeoutMs } = timeouts;
  if (lockTimeoutMs === null && statementTimeoutMs === null) return undefined;
  return {
    ...(lockTimeoutMs === null ? {} : { lockTimeoutMs }),
    ...(statementTimeoutMs === null ? {} : { statementTimeoutMs }),
  };
}

/**
 * Connection-level failures: the server is not there, or not yet (or no longer) accepting. A
 * server that answers and refuses — a login, no such database, a privilege, a standby — is a
 * refusal (`refusalOf`), said as such.
 */
const UNREACHABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "57P03", // the server is starting up or shutting down
]);

function directFailure(error: unknown, config: DirectConfig): CommandFailure {
  if (isMigrationError(error)) {
    const migrationName =
      "migrationName" in error && typeof error.migrationName === "string"
        ? error.migrationName
        : null;
    if (error.code === "EXECUTOR_UNAVAILABLE") {
      return new CommandFailure({
        code: error.code,
        message: `Cannot use the database at ${config.label}: ${error.message}`,
        // The executor's own hint when it has one: it knows more than "is it up?".
        hint:
          error.hint ??
          "Check --database-url (or DATABASE_URL) and that the server is up and reachable from here.",
      });
    }
    if (error.code === "DATABASE_REFUSED") {
      // The server answered and said no: a privilege (named), a standby, a login. Not an outage.
      return new CommandFailure({
        code: error.code,
        message: error.message,
        hint: error.hint,
        details: [`database: ${config.label}`],
      });
    }
    if (error instanceof LintRefusedError) {
      return lintRefusal(error.report, error.message, error.hint);
    }
    if (error instanceof InvalidMigrationFileError) {
      // The core's message joins every problem into one line; a terminal reads them better one each.
      const count = error.problems.length;
      return new CommandFailure({
        code: error.code,
        message: `${count === 1 ? "A migration file" : `${count} migration files`} cannot be loaded, so nothing can be applied:`,
        hint: hintFor(error.remedy, error.hint, config.paste),
        details: error.problems.map(formatFileProblem),
      });
    }
    return new CommandFailure({
      code: error.code,
      message: error.message,
      hint: hintFor(error.remedy, error.hint, config.paste),
      migrationName,
    });
  }
  const code = errorCode(error);
  const message = errorMessage(error);
  // A Postgres error thrown as is (connecting, say): a refusal is said as one, with what to do.
  const refusal =
    code !== null && /^[0-9A-Z]{5}$/.test(code)
      ? refusalOf(
          {
            message,
            code,
            detail: textField(error, "detail"),
            hint: textField(error, "hint"),
            position: null,
          },
          "use the database",
        )
      : null;
  if (refusal !== null) {
    return new CommandFailure({
      code: refusal.code,
      message: refusal.message,
      hint: refusal.hint,
      details: [`database: ${config.label}`],
    });
  }
  if (
    (code !== null && UNREACHABLE_CODES.has(code)) ||
    /connection timeout|timeout expired|Connection terminated/i.test(message)
  ) {
    return new CommandFailure({
      code: "DATABASE_UNREACHABLE",
      message: `Cannot connect to the database at ${config.label}: ${message}`,
      hint: "Check --database-url (or DATABASE_URL) and that the server is up and reachable from here.",
    });
  }
  if (code !== null && /^[0-9A-Z]{5}$/.test(code)) {
    return new CommandFailure({
      code: "DATABASE_ERROR",
      message: `The database at ${config.label} refused: ${message} (SQLSTATE ${code})`,
      hint: "The role in the database URL needs to create the platform schema and its tracking tables, and to run the migrations.",
    });
  }
  return new CommandFailure({ code: "UNEXPECTED", message: `Unexpected error: ${message}` });
}

function textField(error: unknown, key: "detail" | "hint"): string | null {
  const value = (error as Record<string, unknown> | null)?.[key];
  return typeof value === "string" && value !== "" ? value : null;
}

function errorCode(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : null;
}

/** Node reports a refused connection to a name with several addresses as an AggregateError with no message. */
function errorMessage(error: unknown): string {
  if (error instanceof AggregateError && error.message === "") {
    return error.errors.map((inner) => errorMessage(inner)).join("; ");
  }
  return error instanceof Error ? error.message : String(error);
}
