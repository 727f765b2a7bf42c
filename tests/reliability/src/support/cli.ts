import { type ChildProcess, spawn } from "node:child_process";
import { CLI_BIN, REPO_ROOT } from "./config.ts";

export interface CliRun {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The `--json` document, when stdout held one. */
  json: CliDocument | null;
}

/** What `studio-migrate --json` prints: exactly one document. */
export interface CliDocument {
  ok: boolean;
  command: string;
  result?: unknown;
  error?: { code: string; message: string; hint: string | null; migrationName: string | null };
}

export interface RunningCli {
  child: ChildProcess;
  pid: number;
  done: Promise<CliRun>;
}

/**
 * Starts the built CLI as an OS process of its own, the way a deploy pipeline runs it, with only
 * PATH and HOME from this environment (no DATABASE_URL or secret leaks in).
 */
export function startCli(args: readonly string[], env: Record<string, string> = {}): RunningCli {
  const child = spawn(process.execPath, [CLI_BIN, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<CliRun>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => {
      let json: CliDocument | null = null;
      try {
        json = JSON.parse(stdout) as CliDocument;
      } catch {}
      resolve({ code, signal, stdout, stderr, json });
    });
  });
  if (child.pid === undefined) throw new Error("could not spawn the CLI");
  return { child, pid: child.pid, done };
}

export function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  return startCli(args, env).done;
}

/** `apply`/`status`/… against a database, directly, with a JSON document out. */
export function directArgs(
  command: readonly string[],
  databaseUrl: string,
  migrationsDir: string,
): string[] {
  return [...command, "--database-url", databaseUrl, "--migrations-dir", migrationsDir, "--json"];
}

export interface ApplyStep {
  migrationName: string;
  status: string;
}

/** The steps of an `apply --json` document (empty when it failed before running any). */
export function applySteps(run: CliRun): ApplyStep[] {
  const result = run.json?.result as { results?: ApplyStep[] } | undefined;
  return result?.results ?? [];
}

export function describeRun(run: CliRun): string {
  return `exit ${run.code ?? run.signal}: ${run.json?.error?.code ?? ""} ${run.json?.error?.message ?? ""}\n${run.stderr}`;
}
