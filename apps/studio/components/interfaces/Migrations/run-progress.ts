import type { ProgressEvent } from "@studio/migrations-trpc";

/**
 * What the page knows of the runs in Studio's process (`migrations.progress`), folded from the
 * stream's events: which migration each is on, since when, and how many are done. Times are the
 * browser's own (`receivedAt`), so elapsed time ticks on a clock the page can read; a heartbeat
 * carries the server's elapsed time for a migration already running when the page connected.
 */
export interface RunView {
  runId: string;
  kind: "apply" | "rollback";
  total: number;
  /** Migrations finished so far (applied, rolled back, marked, or failed). */
  completed: number;
  current: { migrationName: string; index: number; startedAt: number } | null;
  /** null while it runs. */
  outcome: "succeeded" | "failed" | "error" | null;
  failedMigration: string | null;
  error: string | null;
  /** When it started (as far as this page saw), for ordering. */
  seenAt: number;
  finishedAt: number | null;
}

export type RunsState = ReadonlyMap<string, RunView>;

/** How long a finished run stays on screen, saying how it ended. */
export const FINISHED_RUN_SHOWN_MS = 6_000;

export function foldProgress(
  state: RunsState,
  event: ProgressEvent,
  receivedAt: number,
): RunsState {
  const next = new Map(state);
  const runOf = (runId: string, kind: RunView["kind"], total: number): RunView =>
    next.get(runId) ?? {
      runId,
      kind,
      total,
      completed: 0,
      current: null,
      outcome: null,
      failedMigration: null,
      error: null,
      seenAt: receivedAt,
      finishedAt: null,
    };
  switch (event.type) {
    case "run_started":
      next.set(event.runId, { ...runOf(event.runId, event.kind, event.total), total: event.total });
      break;
    case "migration_started":
      next.set(event.runId, {
        ...runOf(event.runId, event.kind, event.total),
        total: event.total,
        completed: event.index,
        current: { migrationName: event.migrationName, index: event.index, startedAt: receivedAt },
      });
      break;
    case "migration_finished":
      next.set(event.runId, {
        ...runOf(event.runId, event.kind, event.total),
        completed: event.index + 1,
        current: null,
      });
      break;
    case "run_finished":
      next.set(event.runId, {
        ...runOf(event.runId, event.kind, event.total),
        completed: event.completed,
        current: null,
        outcome: event.outcome,
        failedMigration: event.failedMigration,
        error: event.error,
        finishedAt: receivedAt,
      });
      break;
    case "heartbeat":
      // What runs now, for a page that connected mid-run (or missed events while reconnecting).
      for (const running of event.running) {
        const run = runOf(running.runId, running.kind, running.total);
        if (run.outcome !== null) continue;
        const same = run.current?.migrationName === running.migrationName;
        next.set(running.runId, {
          ...run,
          total: running.total,
          completed: running.index,
          current: {
            migrationName: running.migrationName,
            index: running.index,
            startedAt: same && run.current ? run.current.startedAt : receivedAt - running.elapsedMs,
          },
        });
      }
      break;
  }
  return next;
}

/** Drops runs that finished long enough ago. */
export function forgetFinished(state: RunsState, now: number): RunsState {
  const kept = [...state.values()].filter(
    (run) => run.finishedAt === null || now - run.finishedAt < FINISHED_RUN_SHOWN_MS,
  );
  return kept.length === state.size ? state : new Map(kept.map((run) => [run.runId, run]));
}

/** The run to show: the latest one running, else the one that finished last. */
export function runToShow(state: RunsState): RunView | null {
  const runs = [...state.values()];
  const running = runs.filter((run) => run.outcome === null).sort((a, b) => b.seenAt - a.seenAt);
  if (running[0]) return running[0];
  return runs.sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0))[0] ?? null;
}

/** Whether an event changes what `list` and `history` say: refresh them at once. */
export function changesState(event: ProgressEvent): boolean {
  // `migration_recorded`: a run on another replica finished one (read from the audit trail).
  return (
    event.type === "migration_finished" ||
    event.type === "run_finished" ||
    event.type === "migration_recorded"
  );
}
