import type { PGlite } from "@electric-sql/pglite";
import {
  type Executor,
  LockBusyError,
  type LockHandle,
  type LockOptions,
} from "@studio/migrations-core";
import { DEFAULT_TIMEOUTS, type Timeouts } from "../sql-failure.ts";
import { withTransport } from "../transport.ts";
import { UnitExecutor, type UnitExecutorOptions } from "../unit-executor.ts";
import { type DataDirectoryLock, lockDataDirectory } from "./data-dir-lock.ts";
import { PGliteTransport } from "./pglite-transport.ts";

export interface PGliteExecutorOptions {
  /** An open PGlite database; several executors may share one. */
  pglite: PGlite;
  timeouts?: Partial<Timeouts>;
  /** Close the database when the executor closes. Default false: the caller owns it. */
  closeDatabase?: boolean;
  /** The data directory's lock (`lockDataDirectory`), released when the executor closes. */
  dataDirectoryLock?: DataDirectoryLock;
}

/**
 * An executor over embedded PGlite, the default when no server is configured. One PGlite database
 * lives in one process, so the run lock is an in-process queue per database; units are PGlite
 * transactions, which it runs exclusively.
 */
export function createPGliteExecutor(options: PGliteExecutorOptions): Executor {
  const transport = new PGliteTransport(options.pglite, options.closeDatabase ?? false, (lock) =>
    acquireRunLock(options.pglite, lock),
  );
  const executor = new PGliteExecutor(
    { transport, timeouts: { ...DEFAULT_TIMEOUTS, ...options.timeouts }, outcomeRetries: 0 },
    options.dataDirectoryLock,
  );
  return withTransport(executor, transport);
}

export interface PGliteDataDirectoryOptions {
  /** Where the database is persisted; created, with a new database, if it does not exist. */
  dataDir: string;
  timeouts?: Partial<Timeouts>;
}

/**
 * Opens the PGlite database persisted in `dataDir` for this process alone: takes the directory's
 * lock first (`lockDataDirectory`: a second process, Studio or not, is refused with
 * `DataDirectoryInUseError` naming the holder's pid and host), then opens the database. Closing
 * the executor closes the database, then releases the lock; so does the process exiting.
 */
export async function openPGliteExecutor(options: PGliteDataDirectoryOptions): Promise<Executor> {
  const lock = await lockDataDirectory(options.dataDir);
  try {
    const { PGlite } = await import("@electric-sql/pglite");
    const pglite = await PGlite.create(options.dataDir);
    return createPGliteExecutor({
      pglite,
      closeDatabase: true,
      dataDirectoryLock: lock,
      ...(options.timeouts ? { timeouts: options.timeouts } : {}),
    });
  } catch (error) {
    await lock.release();
    throw error;
  }
}

class PGliteExecutor extends UnitExecutor {
  constructor(
    options: UnitExecutorOptions,
    private readonly dataDirectoryLock: DataDirectoryLock | undefined,
  ) {
    super(options);
  }

  override async close(): Promise<void> {
    try {
      await super.close();
    } finally {
      await this.dataDirectoryLock?.release();
    }
  }
}

interface RunLock {
  holder: string;
  waiters: (() => void)[];
}

const runLocks = new WeakMap<PGlite, RunLock>();

async function acquireRunLock(
  pglite: PGlite,
  { timeoutMs, holder }: LockOptions,
): Promise<LockHandle> {
  const deadline = Date.now() + timeoutMs;
  for (let lock = runLocks.get(pglite); lock; lock = runLocks.get(pglite)) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new LockBusyError(lock.holder, timeoutMs);
    const waiting = lock;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, remaining);
      waiting.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
  const mine: RunLock = { holder, waiters: [] };
  runLocks.set(pglite, mine);
  let released = false;
  return {
    release: async () => {
      if (released) return;
      released = true;
      runLocks.delete(pglite);
      for (const wake of mine.waiters) wake();
    },
  };
}
