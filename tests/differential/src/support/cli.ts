import { execFile } from "node:child_process";
import { CLI_BUILD_ERROR_ENV } from "./global-setup.ts";
import { CLI_BIN, REPO_ROOT } from "./paths.ts";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `studio-migrate` in direct mode, run from its built `dist/` as a deploy pipeline runs it, with
 * only PATH and HOME from this environment. Throws the build's error when the globalSetup could
 * not build it.
 */
export function studioMigrate(args: readonly string[], url: string, dir: string): Promise<CliRun> {
  const buildError = process.env[CLI_BUILD_ERROR_ENV];
  if (buildError) throw new Error(`studio-migrate could not be built: ${buildError}`);
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [CLI_BIN, ...args, "--database-url", url, "--migrations-dir", dir, "--actor", "differential"],
      {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
        timeout: 60_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") {
          reject(error);
          return;
        }
        resolve({ code: typeof error?.code === "number" ? error.code : 0, stdout, stderr });
      },
    );
  });
}

/** Runs the CLI and fails the test with its output unless it exits 0. */
export async function studioMigrateOk(args: readonly string[], url: string, dir: string) {
  const run = await studioMigrate(args, url, dir);
  if (run.code !== 0) {
    throw new Error(
      `studio-migrate ${args.join(" ")} exited ${run.code}:\n${run.stdout}${run.stderr}`,
    );
  }
  return run;
}
