import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface RunOptions {
  readonly env?: Record<string, string>;
  readonly cwd?: string;
}

/**
 * Runs a command to completion and returns how long the process lived, in ms: from just before
 * the spawn to its exit, so start-up, loading, connecting and exiting are all counted. A non-zero
 * exit throws with the end of its output: a benchmark run that errors must not become a number.
 */
export function timeProcess(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let exitedAt = 0;
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString("utf8")).slice(-4000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("error", reject);
    child.on("exit", () => {
      exitedAt = performance.now();
    });
    child.on("close", (code, signal) => {
      const ms = (exitedAt || performance.now()) - started;
      if (code === 0) resolve(ms);
      else {
        reject(
          new Error(
            `${command} ${args.join(" ")} exited with ${code ?? signal}:\n${output.trimEnd()}`,
          ),
        );
      }
    });
  });
}

/**
 * The path of a Node script inside this package's build (`dist/`), from the sources (as in the
 * smoke test) as from the build.
 */
export function distScript(relative: string): string {
  return fileURLToPath(new URL(`../dist/${relative}`, import.meta.url));
}
