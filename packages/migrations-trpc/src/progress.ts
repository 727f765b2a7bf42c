import type { RunKind, RunProgressEvent } from "@studio/migrations-core";
import { TRPCError, type TrackedEnvelope, tracked } from "@trpc/server";
import type { RecordedMigrationEvent, RecordedProgress } from "./recorded-progress.ts";

export { DEFAULT_HEARTBEAT_MS, MAX_HEARTBEAT_MS, MIN_HEARTBEAT_MS } from "./limits.ts";

/**
 * `migrations.progress`: what runs are doing, as a stream (SPEC §5 *apply progress*). The engine
 * reports each run's events (`RunProgressEvent`); the router publishes them here; each
 * subscription gets them in order, with a {@link HeartbeatEvent} whenever nothing else was sent
 * for its heartbeat interval, so that a client can tell a live stream (idle, or a long migration
 * still running) from a dead one.
 *
 * Runs in other processes — another Studio replica behind the same load balancer, a CLI in
 * direct mode — are seen through the database they share: each migration they finish is sent as
 * a {@link RecordedMigrationEvent} (`migration_recorded`), read from the audit trail about every
 * half second (see `RecordedProgress`). Only finished migrations: the audit trail records no
 * run's start, plan or end.
 *
 * On the wire (superjson, so `at` is a `Date`) every event is tracked: a client receives
 * `{ id, data: ProgressEvent }`. `id` is this process's event sequence; a client that reconnects
 * with it (tRPC's `httpSubscriptionLink` does so by itself) is sent what this process's runs did
 * meanwhile, as long as the run is still among the last {@link KEPT_RUNS} (what was recorded
 * elsewhere meanwhile is not replayed: `list` and `history` have it).
 */
export type ProgressEvent = RunProgressEvent | HeartbeatEvent | RecordedMigrationEvent;

/** Sent when nothing else was for the subscription's heartbeat interval. */
export interface HeartbeatEvent {
  type: "heartbeat";
  at: Date;
  /** What runs now (only the subscribed run's, with `runId`); `[]` when idle. */
  running: RunningMigration[];
}

/** A migration that has started and not finished, and for how long it has been running. */
export interface RunningMigration {
  runId: string;
  kind: RunKind;
  migrationName: string;
  /** 0-based position in its run, of `total`. */
  index: number;
  total: number;
  startedAt: Date;
  elapsedMs: number;
}

/** How many recent runs are kept for replay, and how many events of each at most. */
export const KEPT_RUNS = 16;
export const KEPT_EVENTS_PER_RUN = 4_000;

interface Sequenced {
  seq: number;
  event: RunProgressEvent;
}

interface RunState {
  events: Sequenced[];
  running: RunningMigration | null;
}

/**
 * The fan-out of one process's run events to its subscribers, with a short memory (the last
 * {@link KEPT_RUNS} runs) so that a subscriber that connects after its run started — or
 * reconnects — misses nothing of it. Synchronous and in memory: `publish` is the engine's
 * progress listener.
 */
export class ProgressHub {
  private seq = 0;
  /** In order of first event: the oldest is dropped first. */
  private readonly runs = new Map<string, RunState>();
  private readonly listeners = new Set<(item: Sequenced) => void>();

  /** The sequence number of the last event published (0 before any). */
  get lastSeq(): number {
    return this.seq;
  }

  /** Whether the run is one of this process's (among the last {@link KEPT_RUNS}). */
  knows(runId: string): boolean {
    return this.runs.has(runId);
  }

  /** Takes one run event (the engine's `ProgressListener`). */
  readonly publish = (event: RunProgressEvent): void => {
    const item: Sequenced = { seq: ++this.seq, event };
    const run = this.runOf(event.runId);
    if (run.events.length >= KEPT_EVENTS_PER_RUN) run.events.shift();
    run.events.push(item);
    if (event.type === "migration_started") {
      run.running = {
        runId: event.runId,
        kind: event.kind,
        migrationName: event.migrationName,
        index: event.index,
        total: event.total,
        startedAt: event.at,
        elapsedMs: 0,
      };
    } else if (event.type !== "run_started") {
      run.running = null;
    }
    for (const listener of this.listeners) listener(item);
  };

  /** Calls `listener` with every event published from now on, until the returned stop. */
  listen(listener: (item: Sequenced) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The kept events after `afterSeq`, oldest first: of one run, or of every kept run. */
  replay(runId: string | null, afterSeq: number): Sequenced[] {
    const runs = runId === null ? [...this.runs.values()] : [this.runs.get(runId)];
    return runs
      .flatMap((run) => run?.events.filter((item) => item.seq > afterSeq) ?? [])
      .sort((a, b) => a.seq - b.seq);
  }

  /** The migrations running now, with their elapsed time: of one run, or of every run. */
  running(runId: string | null, now: Date): RunningMigration[] {
    const runs = runId === null ? [...this.runs.values()] : [this.runs.get(runId)];
    return runs.flatMap((run) =>
      run?.running
        ? [
            {
              ...run.running,
              elapsedMs: Math.max(0, now.getTime() - run.running.startedAt.getTime()),
            },
          ]
        : [],
    );
  }

  private runOf(runId: string): RunState {
    let run = this.runs.get(runId);
    if (run === undefined) {
      run = { events: [], running: null };
      this.runs.set(runId, run);
      if (this.runs.size > KEPT_RUNS) {
        const oldest = this.runs.keys().next().value;
        if (oldest !== undefined) this.runs.delete(oldest);
      }
    }
    return run;
  }
}

/** How often, at most, an open stream asks whether its caller may still see it. */
export const AUTH_RECHECK_MS = 5_000;

export const STREAM_UNAUTHORIZED_MESSAGE =
  "The credentials this progress stream was opened with are no longer accepted (the session was signed out or has expired, or the migration secret changed): the stream ends here. Sign in again, or reconnect with the current secret.";

export interface ProgressStreamOptions {
  /** Only this run's events (and heartbeats); every run's when null. */
  runId: string | null;
  heartbeatMs: number;
  /** The last event id the client saw, when it reconnects: what came after it is replayed. */
  lastEventId: string | null;
  signal: AbortSignal | undefined;
  /**
   * What runs elsewhere finished (other replicas, direct-mode CLIs), from the database. With
   * `runId`, those are sent only while the run is not one of this process's, and only those
   * recorded by `actor`: the run is taken to be running on another replica.
   */
  recorded?: RecordedProgress | undefined;
  /** The subscriber: with `runId`, whose recorded events are taken as its run's. */
  actor?: string | undefined;
  /**
   * Asked every heartbeat interval, and at least every {@link AUTH_RECHECK_MS}: whether the caller's
   * credentials still hold. `false` ends the stream with `UNAUTHORIZED`; a check that throws
   * (the database does not answer) leaves it open until the next one can tell.
   */
  stillAuthorized?: (() => Promise<boolean>) | undefined;
}

interface Queued {
  /** The hub's sequence number; null for an event recorded elsewhere (not replayable). */
  seq: number | null;
  event: RunProgressEvent | RecordedMigrationEvent;
}

/**
 * One subscription: a heartbeat at once (sent once it listens: a client that waits for it
 * misses nothing published afterwards, here or recorded elsewhere), then the events — those of
 * its run already published first, or what came after `lastEventId` — and a heartbeat whenever
 * nothing else was sent for `heartbeatMs`. Ends when the client goes away, or with
 * `UNAUTHORIZED` once its credentials no longer hold.
 */
export async function* progressStream(
  hub: ProgressHub,
  options: ProgressStreamOptions,
): AsyncGenerator<TrackedEnvelope<ProgressEvent>, void, unknown> {
  const { runId, heartbeatMs, signal, stillAuthorized } = options;
  const queue: Queued[] = [];
  let wake: (() => void) | null = null;
  const stop = hub.listen((item) => {
    if (runId !== null && item.event.runId !== runId) return;
    queue.push(item);
    wake?.();
  });
  const elsewhere = options.recorded?.subscribe((events) => {
    for (const event of events) {
      if (runId !== null) {
        // Its run is here after all: the hub sends all of it.
        if (hub.knows(runId)) return;
        if (event.actor !== (options.actor ?? null)) continue;
      }
      queue.push({ seq: null, event: runId === null ? event : { ...event, runId } });
    }
    wake?.();
  });
  const onAbort = () => wake?.();
  signal?.addEventListener("abort", onAbort);
  try {
    const resumeFrom = options.lastEventId === null ? null : Number(options.lastEventId);
    // Nothing can be published between `listen` above and this read (both synchronous), so the
    // replay and the live events neither overlap nor leave a gap.
    let cursor = resumeFrom ?? (runId === null ? hub.lastSeq : 0);
    queue.unshift(...hub.replay(runId, cursor));
    // The first heartbeat says the stream listens: to what is recorded elsewhere too.
    await elsewhere?.ready;
    const heartbeat = (): TrackedEnvelope<ProgressEvent> => {
      const at = new Date();
      return tracked(String(cursor), { type: "heartbeat", at, running: hub.running(runId, at) });
    };
    const recheckMs = Math.min(heartbeatMs, AUTH_RECHECK_MS);
    let lastChecked = Date.now();
    const authorized = async (): Promise<void> => {
      if (stillAuthorized === undefined) return;
      lastChecked = Date.now();
      let ok: boolean;
      try {
        ok = await stillAuthorized();
      } catch {
        return;
      }
      if (!ok) throw new TRPCError({ code: "UNAUTHORIZED", message: STREAM_UNAUTHORIZED_MESSAGE });
    };
    yield heartbeat();
    let lastSent = Date.now();
    while (!signal?.aborted) {
      if (stillAuthorized !== undefined && Date.now() - lastChecked >= recheckMs) {
        await authorized();
        continue;
      }
      const item = queue.shift();
      if (item !== undefined) {
        if (item.seq !== null) cursor = item.seq;
        yield tracked(String(cursor), item.event);
        lastSent = Date.now();
        continue;
      }
      const quiet = Date.now() - lastSent;
      if (quiet >= heartbeatMs) {
        yield heartbeat();
        lastSent = Date.now();
        continue;
      }
      const untilCheck =
        stillAuthorized === undefined ? heartbeatMs : recheckMs - (Date.now() - lastChecked);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(0, Math.min(heartbeatMs - quiet, untilCheck)));
        function done() {
          clearTimeout(timer);
          wake = null;
          resolve();
        }
        wake = done;
      });
    }
  } finally {
    stop();
    elsewhere?.stop();
    signal?.removeEventListener("abort", onAbort);
  }
}
