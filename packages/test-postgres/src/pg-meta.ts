import { type ChildProcess, spawn } from "node:child_process";
import { request } from "node:http";
import { createRequire } from "node:module";
import { setTimeout as sleep } from "node:timers/promises";
import { findFreePortPair, LOOPBACK } from "./ports.ts";
import { onProcessExit } from "./process-exit.ts";
import { OutputTail } from "./tail.ts";
import type { PgMetaServer } from "./types.ts";

export interface PgMetaOptions {
  /** Bound on reaching a healthy server, in ms. Default 30 s. */
  readonly startTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL, in ms. Default 5 s. */
  readonly stopTimeoutMs?: number;
  /** Extra environment for postgres-meta, e.g. `PG_QUERY_TIMEOUT_SECS`. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Preloaded into postgres-meta: it exits when our end of its stdin pipe closes, which happens
 * when the test process dies in any way, SIGKILL included, when no 'exit' handler can run.
 * `unref()` keeps the pipe from holding the process alive after a normal SIGTERM shutdown.
 */
const PARENT_WATCHDOG =
  "data:text/javascript," +
  encodeURIComponent(
    'const s=process.stdin;s.on("end",()=>process.exit(0));s.on("error",()=>process.exit(0));s.resume();s.unref();',
  );

function serverScript(): string {
  return createRequire(import.meta.url).resolve("@supabase/postgres-meta/dist/server/server.js");
}

/** GET without keep-alive, so no pooled socket outlives the check or delays pg-meta's shutdown. */
function httpGet(url: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off("exit", onExit);
      resolve(false);
    }, ms);
    const onExit = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    child.once("exit", onExit);
  });
}

async function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  if (exited(child)) return;
  child.kill("SIGTERM");
  if (await waitForExit(child, graceMs)) return;
  child.kill("SIGKILL");
  await waitForExit(child, 5000);
}

class PortTaken extends Error {}

async function launch(
  databaseUrl: string,
  options: PgMetaOptions,
  deadline: number,
): Promise<PgMetaServer> {
  const port = await findFreePortPair();
  const tail = new OutputTail(40);
  const child = spawn(process.execPath, ["--import", PARENT_WATCHDOG, serverScript()], {
    env: {
      ...process.env,
      ...options.env,
      PG_META_HOST: LOOPBACK,
      PG_META_PORT: String(port),
      PG_META_DB_URL: databaseUrl,
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  // pino logs every request to stdout: keep the tail for diagnostics, and keep draining so a full
  // pipe never blocks the server.
  child.stdout?.on("data", (chunk: Buffer) => tail.push(chunk));
  child.stderr?.on("data", (chunk: Buffer) => tail.push(chunk));
  child.stdin?.on("error", () => {});
  const cancelExitCleanup = onProcessExit(() => child.kill("SIGKILL"));
  const spawnError = new Promise<Error>((resolve) => child.once("error", resolve));
  const pid = child.pid;

  const fail = async (message: string, cause?: unknown): Promise<never> => {
    await terminate(child, 1000);
    cancelExitCleanup();
    const output = tail.text();
    if (output.includes("EADDRINUSE")) throw new PortTaken(output);
    throw new Error(
      `[test-postgres] postgres-meta ${message}\n--- postgres-meta output ---\n${output}`,
      {
        cause,
      },
    );
  };

  if (pid === undefined) return fail(`could not be spawned: ${(await spawnError).message}`);

  const base = `http://${LOOPBACK}:${port}`;
  for (;;) {
    if (exited(child)) {
      return fail(
        `exited (code ${child.exitCode}, signal ${child.signalCode}) before it was healthy`,
      );
    }
    if (Date.now() > deadline) return fail(`was not healthy at ${base}/health in time`);
    try {
      const health = await httpGet(`${base}/health`, 1000);
      // The metrics listener on port + 1 starts after the main one and exits the process if its
      // port is taken, so a healthy /health alone does not mean the server will stay up.
      const metrics =
        health.status === 200
          ? await httpGet(`http://${LOOPBACK}:${port + 1}/metrics`, 1000)
          : undefined;
      if (metrics?.status === 200 && !exited(child)) break;
    } catch {
      // Not listening yet.
    }
    await sleep(50);
  }

  let stopping: Promise<void> | undefined;
  return {
    url: base,
    port,
    metricsPort: port + 1,
    pid,
    logs: () => tail.text(),
    stop: () => {
      stopping ??= terminate(child, options.stopTimeoutMs ?? 5000).finally(() => {
        cancelExitCleanup();
        child.stdin?.destroy();
      });
      return stopping;
    },
  };
}

/**
 * Starts the real postgres-meta server (`@supabase/postgres-meta` from npm) as a child process
 * on two free consecutive loopback ports, pointed at `databaseUrl`, and waits until it is
 * healthy. The child dies with the test process, however that ends.
 */
export async function startPgMeta(
  databaseUrl: string,
  options: PgMetaOptions = {},
): Promise<PgMetaServer> {
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(databaseUrl, options, deadline);
    } catch (error) {
      // Another process took one of the two ports between choosing and binding them.
      if (error instanceof PortTaken && attempt < 5 && Date.now() < deadline) continue;
      if (error instanceof PortTaken) {
        throw new Error(`[test-postgres] postgres-meta could not bind its ports\n${error.message}`);
      }
      throw error;
    }
  }
}
