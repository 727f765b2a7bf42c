/**
 * Synchronous last-chance cleanup for servers and child processes started by this package.
 *
 * Async teardown (globalSetup's teardown, `stop()`) is the normal path; this only matters when the
 * process ends without it (an uncaught error, Ctrl-C, a worker being torn down). Only synchronous
 * work is possible by then, so handlers send signals and remove files, nothing more.
 */

type Cleanup = () => void;

interface Registry {
  readonly cleanups: Set<Cleanup>;
}

// Vitest evaluates this module once per project runner inside one process; the registry and its
// listeners must exist once per process, hence a global symbol rather than module state.
const REGISTRY = Symbol.for("@studio/test-postgres/process-exit");
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

function runAll(registry: Registry): void {
  for (const cleanup of [...registry.cleanups]) {
    registry.cleanups.delete(cleanup);
    try {
      cleanup();
    } catch {
      // The process is going away; one failed cleanup must not stop the others.
    }
  }
}

function install(): Registry {
  const registry: Registry = { cleanups: new Set() };
  process.on("exit", () => runAll(registry));
  for (const signal of SIGNALS) {
    const onSignal = (): void => {
      runAll(registry);
      process.off(signal, onSignal);
      // Listening for a signal disables Node's default "terminate"; restore it when nobody else
      // (Vitest, for one) has taken responsibility for exiting.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
  return registry;
}

function registry(): Registry {
  const holder = globalThis as typeof globalThis & { [REGISTRY]?: Registry };
  holder[REGISTRY] ??= install();
  return holder[REGISTRY];
}

/** Runs `cleanup` synchronously if the process exits first; call the returned function to cancel. */
export function onProcessExit(cleanup: Cleanup): () => void {
  const { cleanups } = registry();
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
  };
}
