import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { findFreePort } from "@studio/test-postgres";

const appDir = fileURLToPath(new URL("..", import.meta.url));
const nextBin = createRequire(import.meta.url).resolve("next/dist/bin/next");

export interface StudioProcess {
  url: string;
  /** Everything the server printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Studio exited instead of serving: its exit code and everything it printed. */
export class StudioStartError extends Error {
  constructor(
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly output: string,
  ) {
    super(`Studio exited with ${exitCode ?? signal}:\n${output}`);
    this.name = "StudioStartError";
  }
}

/**
 * Starts the production build (`next start`, built once by the project's global setup) on a free
 * loopback port, in a process group of its own so that stopping it also stops `next-server`.
 */
export async function startStudio(env: Record<string, string | undefined>): Promise<StudioProcess> {
  const port = await findFreePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [nextBin, "start", "-H", "127.0.0.1", "-p", String(port)],
    {
      cwd: appDir,
      env: { ...cleanEnv(), NEXT_TELEMETRY_DISABLED: "1", NODE_ENV: "production", ...env },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const closed = new Promise((resolve) => child.once("close", resolve));
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode !== null || child.pid === undefined) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    try {
      process.kill(-child.pid, "SIGTERM");
    } catch {}
    const timer = setTimeout(() => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {}
    }, 5_000);
    await exited;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      // 'exit' can come before the last of its output: wait for the pipes to close (briefly, as a
      // left-over grandchild could hold them open).
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2_000))]);
      throw new StudioStartError(child.exitCode, child.signalCode, output);
    }
    try {
      // Any answer will do: the health route says 503 while the database is down.
      await fetch(`${url}/api/health`);
      break;
    } catch {}
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Studio did not start within 60 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, output: () => output, stop };
}

/** The test process's environment without what would change which database Studio uses. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (
      [
        "DATABASE_URL",
        "PG_META_URL",
        "MIGRATION_SECRET",
        "MIGRATIONS_AUTO_APPLY",
        "MIGRATIONS_DIR",
        "STUDIO_DATA_DIR",
        "STUDIO_TRUSTED_PROXIES",
      ].includes(key)
    )
      continue;
    if (key.startsWith("VITEST") || key === "NODE_OPTIONS") continue;
    env[key] = value;
  }
  return env;
}
