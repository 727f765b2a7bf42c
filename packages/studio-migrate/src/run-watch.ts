import { randomUUID } from "node:crypto";
import type { MigrationFinishedEvent } from "@studio/migrations-core";
import type {
  ProgressEvent,
  RecordedMigrationEvent,
  RunningMigration,
} from "@studio/migrations-trpc";
import {
  MAX_HEARTBEAT_MS,
  MIN_HEARTBEAT_MS,
  type MigrationsClient,
} from "@studio/migrations-trpc/client";
import { formatSeconds } from "./node-http-fetch.ts";

/**
 * A run through Studio (`apply`, `rollback`), watched over `migrations.progress` (SPEC §8): each
 * migration's line is printed as it finishes, and the command fails when Studio says nothing —
 * no event, no heartbeat, no answer — for `--timeout`. A long migration keeps it alive: Studio
 * sends heartbeats while it runs. The stream is opened with the run's own id, and the call that
 * starts the run is made once it listens (its first heartbeat).
 *
 * Behind a load balancer the stream and the call may land on different Studio replicas: the
 * stream's replica then sends the migrations the run finishes as its database records them
 * (`migration_recorded`) instead of the run's own events. Either way each migration is reported
 * once, however many of them say it finished.
 *
 * When the stream cannot be opened (an older Studio, a proxy that refuses it) the run goes on
 * without it: the lines are printed when it ends, which the operator is told once, and then the
 * answer itself must come within `--timeout`.
 */
export interface RunWatchOptions {
  /** A client with `eventSource` set (see `createMigrationsClient`). */
  client: MigrationsClient;
  /** How long Studio may stay silent. */
  timeoutMs: number;
  /** Studio's label, for messages. */
  studio: string;
  onFinished(event: MigrationFinishedEvent | RecordedMigrationEvent): void;
  /** Said once, when there is no stream to watch (why, in a sentence). */
  onNoStream(reason: string): void;
}

/** Studio went quiet for the whole `--timeout` during a run. */
export class StudioSilentError extends Error {
  override readonly name = "StudioSilentError";
  constructor(
    message: string,
    /** Whether progress was streaming (else only the call's answer was awaited). */
    readonly streaming: boolean,
  ) {
    super(message);
  }
}

/**
 * Runs `call` — the mutation, given the run's id and a signal that aborts it when Studio stays
 * silent — while watching the run's progress. Resolves or rejects as the call does; a silence
 * rejects with {@link StudioSilentError}.
 */
export async function watchRun<T>(
  options: RunWatchOptions,
  call: (runId: string, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const { client, timeoutMs, studio } = options;
  const runId = randomUUID();
  const silence = new AbortController();
  let streaming = false;
  let running: RunningMigration | null = null;
  let settled = false;
  /** `kind name` of each migration reported: a run attempts each once. */
  const reported = new Set<string>();
  const finished = (event: MigrationFinishedEvent | RecordedMigrationEvent) => {
    running = null;
    const key = `${event.kind} ${event.migrationName}`;
    if (reported.has(key)) return;
    reported.add(key);
    options.onFinished(event);
  };
  let listening: () => void = () => {};
  /** Settles when the stream listens, cannot be opened, or Studio stayed silent. */
  const opened = new Promise<void>((resolve) => {
    listening = resolve;
  });
  silence.signal.addEventListener("abort", () => listening());

  let timer: NodeJS.Timeout | undefined;
  const heard = () => {
    clearTimeout(timer);
    timer = setTimeout(() => silence.abort(silent()), timeoutMs);
  };
  const silent = () => {
    const quiet = formatSeconds(timeoutMs);
    if (!streaming) {
      return new StudioSilentError(`Studio at ${studio} did not answer within ${quiet}.`, false);
    }
    const what =
      running === null
        ? ""
        : ` (${running.migrationName} had been running for ${formatSeconds(running.elapsedMs + timeoutMs)})`;
    return new StudioSilentError(
      `Studio at ${studio} stopped sending progress: nothing for ${quiet}${what}.`,
      true,
    );
  };
  heard();

  const subscription = client.progress.subscribe(
    { runId, heartbeatMs: heartbeatFor(timeoutMs) },
    {
      onData: ({ data }: { data: ProgressEvent }) => {
        if (settled) return;
        streaming = true;
        listening();
        heard();
        switch (data.type) {
          case "heartbeat":
            running = data.running[0] ?? null;
            break;
          case "migration_started":
            running = {
              runId,
              kind: data.kind,
              migrationName: data.migrationName,
              index: data.index,
              total: data.total,
              startedAt: data.at,
              elapsedMs: 0,
            };
            break;
          case "migration_finished":
          case "migration_recorded":
            finished(data);
            break;
          default:
            break;
        }
      },
      onError: (error: unknown) => {
        listening();
        // Once it has streamed, a lost stream is a silence: the timer says when it is too long.
        if (settled || streaming) return;
        const status = httpStatusOf(error);
        // A refused secret is the call's own answer to give, once.
        if (status === 401 || status === 403) return;
        options.onNoStream(
          `Studio at ${studio} does not stream progress (${reasonOf(error)}): each migration's line is printed when the run ends, and the run must end within --timeout (${formatSeconds(timeoutMs)}).`,
        );
      },
    },
  );

  try {
    // Not before it listens: a run on another replica is seen only from then on.
    await opened;
    if (silence.signal.aborted) throw silence.signal.reason;
    return await call(runId, silence.signal);
  } catch (error) {
    if (silence.signal.aborted) throw silence.signal.reason;
    throw error;
  } finally {
    settled = true;
    clearTimeout(timer);
    subscription.unsubscribe();
  }
}

/**
 * Heartbeats several times per `--timeout`, so that one late heartbeat is not taken for a
 * silence; no more often than the server allows, nor needlessly often.
 */
function heartbeatFor(timeoutMs: number): number {
  return Math.round(Math.min(MAX_HEARTBEAT_MS, 5_000, Math.max(MIN_HEARTBEAT_MS, timeoutMs / 4)));
}

function httpStatusOf(error: unknown): number | null {
  const data = (error as { data?: { httpStatus?: unknown } } | null)?.data;
  return typeof data?.httpStatus === "number" ? data.httpStatus : null;
}

function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.trim() === "" ? "the connection failed" : message.trim();
}
