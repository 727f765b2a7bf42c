import { readFileSync } from "node:fs";
import { commandOf, type Invocation, parseInvocation, wantsJson } from "./args.ts";
import { displayPath, type Outcome, runTargetCommand } from "./commands.ts";
import { type FailureInfo, failureInfoOf, UsageError } from "./failures.ts";
import { helpText, usageHint } from "./help.ts";
import { type Io, Printer, processIo, wrap } from "./output.ts";
import {
  openTarget,
  requireMigrationsDir,
  resolveMigrationsDir,
  resolveTarget,
  type TargetConfig,
} from "./target.ts";

export type { Io } from "./output.ts";

/**
 * Runs one `studio-migrate` invocation and returns its exit code: 0 success, 1 failure (the
 * reason on stderr), 2 usage error. Never exits the process: the caller sets the exit code, so
 * pending output is flushed and connections are closed first.
 */
export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  let invocation: Invocation;
  try {
    invocation = parseInvocation(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return usageError(error, new Printer(io, wantsJson(argv)), commandOf(argv));
  }
  const p = new Printer(io, invocation.json);

  try {
    switch (invocation.command) {
      case "help": {
        const text = helpText(invocation.topic);
        if (p.json) p.document({ ok: true, command: "help", result: { text } });
        else p.line(text);
        return 0;
      }
      case "version": {
        const version = readVersion();
        if (p.json) p.document({ ok: true, command: "version", result: { version } });
        else p.line(`studio-migrate ${version}`);
        return 0;
      }
      case "verify": {
        const { runVerify } = await import("./verify-command.ts");
        return finish(p, invocation.command, null, await runVerify(invocation, p, io));
      }
      case "new": {
        const directory = resolveMigrationsDir(invocation.migrationsDir, io);
        const { createMigrationFile } = await import("./new-migration.ts");
        const created = createMigrationFile(directory, invocation.name);
        if (p.json) {
          p.document({ ok: true, command: "new", result: created });
        } else {
          p.line(`Created ${displayPath(created.path, io.cwd)}`);
          p.paragraph(
            "Write its up SQL under -- migrate:up (and, under -- migrate:down, the SQL that undoes it) before anything applies it. Applied unedited, it is recorded as applied with nothing run (an empty migration), and SQL written into it later never runs: the edit shows as checksum drift.",
          );
        }
        return 0;
      }
      default: {
        const config = resolveTarget(invocation.target, io);
        if (config.mode === "direct" && invocation.command !== "history") {
          requireMigrationsDir(config.migrationsDir);
        }
        const target = await openTarget(config, (message) => {
          for (const line of wrap(`note: ${message}`, p.width, "  ")) p.error(line);
        });
        let outcome: Outcome;
        try {
          outcome = await runTargetCommand(invocation, target, p, io.cwd);
        } finally {
          await target.close().catch(() => {});
        }
        return finish(p, invocation.command, config, outcome);
      }
    }
  } catch (error) {
    if (error instanceof UsageError) return usageError(error, p, invocation.command);
    const failure = failureInfoOf(error);
    const config = "target" in invocation ? safeTarget(invocation, io) : null;
    return finish(p, invocation.command, config, { exitCode: 1, result: null, failure });
  }
}

function finish(
  p: Printer,
  command: string,
  config: TargetConfig | null,
  outcome: Outcome,
): number {
  if (p.json) {
    p.document({
      ok: outcome.exitCode === 0,
      command,
      ...(config === null ? {} : { target: describeTarget(config) }),
      ...(outcome.result === null ? {} : { result: outcome.result }),
      ...(outcome.failure === null ? {} : { error: publicFailure(outcome.failure) }),
    });
  }
  if (outcome.failure !== null) reportFailure(p, outcome.failure);
  return outcome.exitCode;
}

function usageError(error: UsageError, p: Printer, fallback: Invocation["command"] | null): number {
  const command = error.command ?? (fallback === "version" ? null : fallback);
  if (p.json) {
    p.document({
      ok: false,
      command,
      error: { code: "USAGE", message: error.message, hint: usageHint(command) },
    });
  }
  const [first = "", ...rest] = wrap(error.message, p.width - 7, "  ");
  p.error(`${p.err.red("error:")} ${first}`);
  for (const line of rest) p.error(line);
  p.error(usageHint(command));
  return 2;
}

function reportFailure(p: Printer, failure: FailureInfo): void {
  const [first = "", ...rest] = wrap(failure.message, p.width - 7, "  ");
  p.error(`${p.err.red("error:")} ${first}`);
  for (const line of rest) p.error(line);
  for (const detail of failure.details) p.error(`  ${detail}`);
  if (failure.hint) {
    for (const line of wrap(`hint: ${failure.hint}`, p.width, "  ")) p.error(line);
  }
}

/** The `error` of a JSON document: everything but the lines meant for a terminal. */
function publicFailure(failure: FailureInfo) {
  return {
    code: failure.code,
    message: failure.message,
    hint: failure.hint,
    migrationName: failure.migrationName,
    failure: failure.failure,
    ...(failure.details.length > 0 ? { details: failure.details } : {}),
  };
}

/** What the JSON says about the target: never the secret, nor the database password. */
function describeTarget(config: TargetConfig) {
  return config.mode === "direct"
    ? {
        mode: config.mode,
        database: config.label,
        migrationsDir: config.migrationsDir,
        actor: config.actor,
      }
    : { mode: config.mode, url: config.label, actor: config.actor };
}

function safeTarget(invocation: { target: Parameters<typeof resolveTarget>[0] }, io: Io) {
  try {
    return resolveTarget(invocation.target, io);
  } catch {
    return null;
  }
}

function readVersion(): string {
  // dist/cli.js and src/cli.ts both sit one level below the package's package.json.
  const text = readFileSync(new URL("../package.json", import.meta.url), "utf8");
  const version = (JSON.parse(text) as { version?: unknown }).version;
  return typeof version === "string" ? version : "unknown";
}
