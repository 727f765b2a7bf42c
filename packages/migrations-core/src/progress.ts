import type { ApplyStepResult, RollbackStepResult } from "./engine.ts";

/**
 * A run's progress, reported while it happens (SPEC §5 *apply progress*): the engine calls a
 * {@link ProgressListener} synchronously at each point below, so a host can stream the events
 * (Studio: the `migrations.progress` subscription) or print them (the CLI's direct mode). The core
 * only reports; it keeps no timers and no buffers — heartbeats and fan-out are the host's.
 *
 * Which runs report: every apply, rollback and rollback run (`rollback --to` / `--steps`) that
 * takes the run lock and plans. A dry run, an apply that finds nothing to do before taking the
 * lock, and a run refused before it starts (drift, out of order, a lock held too long …) report
 * nothing: the call's own answer says why. Every event carries the run's `runId`, chosen by the
 * caller, so that a client can pick its own run out of a stream shared with others.
 */
export type RunProgressEvent =
  | RunStartedEvent
  | MigrationStartedEvent
  | MigrationFinishedEvent
  | RunFinishedEvent;

/** What a run does: applies (`apply`) or runs down sections / marks rollbacks (`rollback`). */
export type RunKind = "apply" | "rollback";

/** The run has the lock and a plan: `total` migrations will be attempted, in this order. */
export interface RunStartedEvent {
  type: "run_started";
  runId: string;
  kind: RunKind;
  at: Date;
  /** The migrations to attempt, in order (newest first for a rollback run). */
  migrationNames: string[];
  total: number;
}

/** A migration's SQL (or bookkeeping, for a mark-only rollback) starts now. */
export interface MigrationStartedEvent {
  type: "migration_started";
  runId: string;
  kind: RunKind;
  at: Date;
  migrationName: string;
  /** 0-based position in the run: the `index + 1`-th of `total`. */
  index: number;
  total: number;
  /** Whether it runs in a transaction (`false` under `transaction:false`). */
  transactional: boolean;
}

/**
 * A migration finished: its step result, exactly as the run's report will hold it — an
 * `ApplyStepResult` in an apply, a `RollbackStepResult` in a rollback (`kind` tells which).
 */
export type MigrationFinishedEvent = {
  type: "migration_finished";
  runId: string;
  at: Date;
  migrationName: string;
  index: number;
  total: number;
} & ({ kind: "apply"; result: ApplyStepResult } | { kind: "rollback"; result: RollbackStepResult });

/**
 * The run is over. `succeeded`: every migration attempted finished; `failed`: one failed and the
 * rest were skipped (`failedMigration` names it); `error`: the run was cut short by an error
 * (the database went away): `error` says what, and the call answers with it.
 */
export interface RunFinishedEvent {
  type: "run_finished";
  runId: string;
  kind: RunKind;
  at: Date;
  outcome: "succeeded" | "failed" | "error";
  /** How many migrations finished (applied, rolled back, marked, or failed). */
  completed: number;
  total: number;
  failedMigration: string | null;
  error: string | null;
}

export type ProgressListener = (event: RunProgressEvent) => void;

/** What a caller passes to have a run report its progress. */
export interface RunProgress {
  /** Carried by every event of the run (a UUID is a good choice). */
  runId: string;
  listener: ProgressListener;
}
