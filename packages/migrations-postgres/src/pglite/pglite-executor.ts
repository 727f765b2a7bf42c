import type { PGlite } from "@electric-sql/pglite";
import {
  type Executor,
  LockBusyError,
  type LockHandle,
  type LockOptions,
} from "@studio/migrations-core";
import { SqlExecutor } from "../sql-executor.ts";
import { DEFAULT_TIMEOUTS, type Timeouts } from "../sql-failure.ts";
import { PGliteTransport } from "./pglite-transport.ts";

export interface PGliteExecutorOptions {
  /** An open PGlite database; several executors may share one. */
  pglite: PGlite;
  timeouts?: Partial<Timeouts>;
  /** Close the database when the executor closes. Default false: the caller owns it. */
  closeDatabase?: boolean;
}

/**
 * An executor over embedded PGlite, the default when no server is configured. One PGlite database
 * lives in one process, so the run lock is an in-process queue per database; units are PGlite
 * transactions, which it runs exclusively.
 */
export function createPGliteExecutor(options: PGliteExecutorOptions): Executor {
  return new SqlExecutor({
    kind: "pglite",
    transport: new PGliteTransport(options.pglite, options.closeDatabase ?? false),
    timeouts: { ...DEFAULT_TIMEOUTS, ...options.timeouts },
    acquireRunLock: (lock) => acquireRunLock(options.pglite, lock),
  });
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
