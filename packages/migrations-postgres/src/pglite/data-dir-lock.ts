import { createHash, randomUUID } from "node:crypto";
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

// Self-contained (node built-ins only): its tests run it in child processes as well.

/**
 * The lock file, inside the data directory it guards — the way Postgres keeps `postmaster.pid` in
 * its own — so it moves with the directory. PGlite ignores files it does not know there, both
 * when it creates a database and when it opens one.
 */
export const DATA_DIRECTORY_LOCK_FILE = "studio.lock";

/** Who holds a data directory, as its lock file says. */
export interface DataDirectoryHolder {
  pid: number;
  host: string;
  /** ISO 8601: when the holder took the lock. */
  startedAt: string;
}

/**
 * A data directory is open in another process (or, `sameHost` false, possibly open on another
 * host, which cannot be checked from here).
 */
export class DataDirectoryInUseError extends Error {
  constructor(
    readonly directory: string,
    readonly lockFile: string,
    readonly holder: DataDirectoryHolder,
    readonly sameHost: boolean,
  ) {
    const who = `process ${holder.pid} on ${holder.host} (since ${holder.startedAt})`;
    super(
      sameHost
        ? `The PGlite data directory ${directory} is in use by ${who}; only one process may open it at a time.`
        : `The PGlite data directory ${directory} is in use by ${who}, according to ${lockFile}; ` +
            `whether that process still runs cannot be checked from ${hostname()}. If it has ` +
            `stopped (or ${holder.host} is gone), delete ${lockFile}.`,
    );
    this.name = "DataDirectoryInUseError";
  }
}

export interface DataDirectoryLock {
  readonly lockFile: string;
  /** Removes the lock file (if it is still this lock's). Idempotent. */
  release(): Promise<void>;
}

/** What the lock file holds. `bootId` and `processStart` (Linux) tell a recycled pid apart. */
interface LockRecord extends DataDirectoryHolder {
  nonce: string;
  bootId?: string;
  processStart?: string;
}

/** A lock file with no parsable content yet may be one being written: it is left alone this long. */
const UNREADABLE_GRACE_MS = 5_000;
/** A takeover runs in microseconds; a takeover file this old was left by a process that died. */
const ABANDONED_TAKEOVER_MS = 10_000;
/** Long enough for a lock being written to become readable, or be judged corrupt. */
const ACQUIRE_DEADLINE_MS = 3 * UNREADABLE_GRACE_MS;
const RETRY_DELAY_MS = 25;

// Locks held by this process, by lock file: Next may load this module in several bundles of one
// process, which share `globalThis`.
const HELD = Symbol.for("@studio/migrations-postgres/data-directory-locks");
function heldLocks(): Map<string, string> {
  const store = globalThis as typeof globalThis & { [HELD]?: Map<string, string> };
  store[HELD] ??= new Map();
  return store[HELD];
}

/**
 * Takes the data directory for this process, creating the directory if need be: atomically
 * creates `studio.lock` in it (`{ pid, host, startedAt }`), or throws `DataDirectoryInUseError`
 * naming the holder.
 *
 * A lock left behind by a process that is gone (killed, crashed, or the machine restarted) is
 * taken over: on the same host a holder is alive when its pid is — and, on Linux, is still the
 * same process (boot id and process start time), so a recycled pid does not count; a holder with
 * this process's own pid that this process does not hold is a previous life of it (a restarted
 * container). Several processes taking over one stale lock at once are serialised by an
 * exclusive takeover file named after that lock's content, and each re-checks the lock under it,
 * so exactly one gets the directory. A lock from another host is never taken over: whether its
 * holder runs cannot be told from here; the error says which file to delete.
 *
 * The lock is released by `release()`, or when the process exits (an `exit` handler; a process
 * killed outright leaves the file, which is then stale).
 */
export async function lockDataDirectory(directory: string): Promise<DataDirectoryLock> {
  mkdirSync(directory, { recursive: true });
  const dir = realpathSync(directory);
  const lockFile = join(dir, DATA_DIRECTORY_LOCK_FILE);
  const record: LockRecord = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    nonce: randomUUID(),
    ...linuxIdentity(process.pid),
  };
  const content = `${JSON.stringify(record)}\n`;

  for (const deadline = Date.now() + ACQUIRE_DEADLINE_MS; Date.now() < deadline; ) {
    if (createExclusive(lockFile, content)) return held(dir, lockFile, content, record.nonce);

    const raw = readIfExists(lockFile);
    if (raw === undefined) continue; // released in between
    const holder = parseRecord(raw);
    if (holder === undefined) {
      // Unreadable: being written this instant, or corrupt (a disk that filled up). Only a
      // corrupt one is taken over.
      if (!olderThan(lockFile, UNREADABLE_GRACE_MS)) {
        await sleep(RETRY_DELAY_MS);
        continue;
      }
    } else if (holder.host !== record.host) {
      throw new DataDirectoryInUseError(dir, lockFile, holder, false);
    } else if (isAlive(holder, lockFile)) {
      throw new DataDirectoryInUseError(dir, lockFile, holder, true);
    }
    if (!takeOver(lockFile, raw)) await sleep(RETRY_DELAY_MS);
  }
  throw new Error(`Could not lock the PGlite data directory ${dir}: ${lockFile} keeps changing.`);
}

function held(dir: string, lockFile: string, content: string, nonce: string): DataDirectoryLock {
  heldLocks().set(lockFile, nonce);
  removeAbandonedTakeovers(dir);
  let released = false;
  const removeIfMine = () => {
    try {
      if (readFileSync(lockFile, "utf8") === content) unlinkSync(lockFile);
    } catch {}
  };
  const onExit = () => removeIfMine();
  process.on("exit", onExit);
  return {
    lockFile,
    release: async () => {
      if (released) return;
      released = true;
      process.off("exit", onExit);
      if (heldLocks().get(lockFile) === nonce) heldLocks().delete(lockFile);
      removeIfMine();
    },
  };
}

/** Creates the lock file with `content` unless it exists (`O_CREAT | O_EXCL`). */
function createExclusive(lockFile: string, content: string): boolean {
  let fd: number;
  try {
    fd = openSync(lockFile, "wx");
  } catch (error) {
    if (code(error) === "EEXIST") return false;
    throw error;
  }
  try {
    writeFileSync(fd, content);
  } catch (error) {
    closeSync(fd);
    unlinkQuietly(lockFile);
    throw error;
  }
  closeSync(fd);
  return true;
}

/**
 * Removes the stale lock whose content is `raw`, as the one process doing so: the takeover file
 * is named after that content, so of several processes taking over the same stale lock exactly
 * one creates it; that one removes the lock only if it still holds `raw` (another may have
 * finished a takeover already and holds the directory now). Then the caller creates its own lock
 * exclusively, as any process might. Returns false when another process is taking over.
 */
function takeOver(lockFile: string, raw: string): boolean {
  const key = createHash("sha256").update(raw).digest("hex").slice(0, 16);
  const takeoverFile = `${lockFile}.takeover-${key}`;
  let fd: number;
  try {
    fd = openSync(takeoverFile, "wx");
  } catch (error) {
    if (code(error) !== "EEXIST") throw error;
    // Another process is taking over right now, or died doing so long ago.
    if (olderThan(takeoverFile, ABANDONED_TAKEOVER_MS)) unlinkQuietly(takeoverFile);
    return false;
  }
  closeSync(fd);
  try {
    if (readIfExists(lockFile) === raw) unlinkQuietly(lockFile);
  } finally {
    unlinkQuietly(takeoverFile);
  }
  return true;
}

function removeAbandonedTakeovers(dir: string): void {
  try {
    for (const name of readdirSync(dir)) {
      if (!name.startsWith(`${DATA_DIRECTORY_LOCK_FILE}.takeover-`)) continue;
      const file = join(dir, name);
      if (olderThan(file, ABANDONED_TAKEOVER_MS)) unlinkQuietly(file);
    }
  } catch {}
}

/** Whether the holder on this host still runs. */
function isAlive(holder: LockRecord, lockFile: string): boolean {
  if (holder.pid === process.pid) return heldLocks().get(lockFile) === holder.nonce;
  const mine = linuxIdentity(process.pid);
  // The machine restarted since: no process from before survives.
  if (holder.bootId !== undefined && mine.bootId !== undefined && holder.bootId !== mine.bootId)
    return false;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if (code(error) !== "EPERM") return false; // ESRCH: no such process
  }
  // Alive, but possibly a recycled pid: on Linux, compare when that process started.
  if (holder.processStart !== undefined) {
    const start = linuxIdentity(holder.pid).processStart;
    if (start !== undefined && start !== holder.processStart) return false;
  }
  return true;
}

function parseRecord(raw: string): LockRecord | undefined {
  try {
    const value = JSON.parse(raw) as Partial<LockRecord> | null;
    if (
      value === null ||
      typeof value !== "object" ||
      !Number.isSafeInteger(value.pid) ||
      (value.pid as number) <= 0 ||
      typeof value.host !== "string" ||
      typeof value.startedAt !== "string"
    )
      return undefined;
    return {
      pid: value.pid as number,
      host: value.host,
      startedAt: value.startedAt,
      nonce: typeof value.nonce === "string" ? value.nonce : "",
      ...(typeof value.bootId === "string" ? { bootId: value.bootId } : {}),
      ...(typeof value.processStart === "string" ? { processStart: value.processStart } : {}),
    };
  } catch {
    return undefined;
  }
}

/** The kernel's boot id and a process's start time (clock ticks since boot), where /proc has them. */
function linuxIdentity(pid: number): { bootId?: string; processStart?: string } {
  const identity: { bootId?: string; processStart?: string } = {};
  try {
    identity.bootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {}
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces and parentheses) start at field 3;
    // field 22 is the start time.
    const start = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
    if (start !== undefined && /^\d+$/.test(start)) identity.processStart = start;
  } catch {}
  return identity;
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    if (code(error) === "ENOENT") return undefined;
    throw error;
  }
}

function olderThan(file: string, ms: number): boolean {
  try {
    return Date.now() - statSync(file).mtimeMs > ms;
  } catch {
    return false;
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch (error) {
    if (code(error) !== "ENOENT") throw error;
  }
}

function code(error: unknown): unknown {
  return (error as NodeJS.ErrnoException | null)?.code;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
