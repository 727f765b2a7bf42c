import type {
  ApplyStepStatus,
  MigrationEngine,
  MigrationEvent,
  RollbackStepStatus,
  RunKind,
  RunProgressEvent,
} from "@studio/migrations-core";

/** How often the audit trail is read while someone is subscribed (one read per process). */
export const RECORDED_POLL_MS = 500;
/** Events read per page; a poll pages further back only when more than this many are new. */
const PAGE_SIZE = 100;
/** At most this many new events per poll: beyond it, the oldest of a burst are not sent. */
const MAX_PER_POLL = 2_000;
/** Local attempts remembered for telling the audit trail's rows of this process's runs apart. */
const MAX_CLAIMS = 1_000;

/**
 * A migration finished in a run this process is not running — another Studio replica's, or a
 * CLI's in direct mode — as its row in `platform.schema_migration_events` tells it (SPEC §3: every
 * attempt writes one). The audit trail knows no run, nor a run's position or size: `kind` is the
 * event's action, and `result` carries what a {@link MigrationFinishedEvent}'s does that the row
 * can tell (name, status, time, the database's message on a failure).
 */
export type RecordedMigrationEvent = {
  type: "migration_recorded";
  /**
   * The run it is taken to belong to: on a subscription that names a run, that run (recorded
   * by the subscriber's actor while no run of that id was in this process: it runs on another
   * replica); otherwise null — the audit trail records no run.
   */
  runId: string | null;
  /** The audit event's id (`schema_migration_events.id`). */
  eventId: string;
  /** When the attempt was recorded (the database's clock). */
  at: Date;
  migrationName: string;
  /** Who ran it (`applied_by` / the event's actor). */
  actor: string | null;
} & (
  | { kind: "apply"; result: RecordedStepResult<Extract<ApplyStepStatus, "applied" | "failed">> }
  | {
      kind: "rollback";
      result: RecordedStepResult<
        Extract<RollbackStepStatus, "rolled_back" | "marked_rolled_back" | "failed">
      >;
    }
);

export interface RecordedStepResult<Status extends string> {
  migrationName: string;
  status: Status;
  executionTimeMs: number | null;
  /** The database's message, on a failure (as stored: capped at 16 KiB). */
  error: string | null;
}

/** Where the audit trail is read: the engine's `history` (newest first, by cursor). */
export type RecordedEventsReader = Pick<MigrationEngine, "history">;

interface Listener {
  deliver(events: RecordedMigrationEvent[]): void;
  /** Sent what polls find; false until the first poll that started after it subscribed. */
  active: boolean;
}

interface Waiter {
  listener: Listener;
  ready(): void;
}

/** A migration a run of this process started: the audit row it writes is not news. */
interface Claim {
  runId: string;
  kind: RunKind;
  migrationName: string;
  /**
   * Once it finished: the number of the first poll to start after that. Its row was written
   * before, so that poll sees it if no earlier one did; after that poll the claim is dropped.
   */
  droppedAfterPoll: number | null;
}

/**
 * The migrations finished by runs elsewhere, for `migrations.progress`: the audit trail, read
 * every {@link RECORDED_POLL_MS} while at least one subscriber listens — one read per process,
 * shared by all of them — and each new apply or rollback event handed to every subscriber. The
 * rows written by this process's own runs are left out (the hub streams those, in full): each
 * migration a local run starts claims the first row of its name and action that comes after.
 *
 * A subscriber is sent only events found by polls that started after it subscribed, so nothing
 * recorded before it came is taken for news; `subscribe` answers once that first poll is done.
 */
export class RecordedProgress {
  private readonly listeners = new Set<Listener>();
  private waiting: Waiter[] = [];
  private readonly claims: Claim[] = [];
  private polls = 0;
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private lastFailed = false;
  /** The ids of the last window read, its lowest and highest id; null before the first read. */
  private window: { ids: Set<string>; low: bigint; high: bigint } | null = null;

  constructor(
    private readonly reader: RecordedEventsReader,
    private readonly intervalMs: number = RECORDED_POLL_MS,
  ) {}

  /** Takes this process's run events (a hub listener): what its runs start is claimed. */
  readonly noteLocal = (event: RunProgressEvent): void => {
    switch (event.type) {
      case "migration_started":
        this.claims.push({
          runId: event.runId,
          kind: event.kind,
          migrationName: event.migrationName,
          droppedAfterPoll: null,
        });
        if (this.claims.length > MAX_CLAIMS) this.claims.shift();
        break;
      case "migration_finished": {
        const claim = this.claims.find(
          (c) =>
            c.droppedAfterPoll === null &&
            c.runId === event.runId &&
            c.migrationName === event.migrationName,
        );
        if (claim) claim.droppedAfterPoll = this.polls + 1;
        break;
      }
      case "run_finished":
        // A run cut short (its database went away) may not have finished its last migration.
        for (const claim of this.claims) {
          if (claim.runId === event.runId && claim.droppedAfterPoll === null) {
            claim.droppedAfterPoll = this.polls + 1;
          }
        }
        break;
      default:
        break;
    }
  };

  /**
   * Sends `deliver` the events recorded from now on, oldest first, until `stop`. `ready`
   * resolves once the poll that marks its start is done (or failed: then the next one that
   * succeeds marks it).
   */
  subscribe(deliver: (events: RecordedMigrationEvent[]) => void): {
    ready: Promise<void>;
    stop(): void;
  } {
    const listener: Listener = { deliver, active: false };
    this.listeners.add(listener);
    let resolveReady: () => void = () => {};
    const ready = new Promise<void>((resolve) => {
      resolveReady = resolve;
    });
    this.waiting.push({ listener, ready: resolveReady });
    this.schedule();
    return {
      ready,
      stop: () => {
        this.listeners.delete(listener);
        this.waiting = this.waiting.filter((waiter) => waiter.listener !== listener);
        resolveReady();
        if (this.listeners.size === 0) this.idle();
      },
    };
  }

  /** Nobody listens: no more reads, and the next subscriber starts from a fresh window. */
  private idle(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.window = null;
  }

  private schedule(): void {
    if (this.polling || this.listeners.size === 0) return;
    // A new subscriber is not kept waiting for the interval, unless the database just failed.
    const now = this.waiting.length > 0 && !this.lastFailed;
    if (this.timer) {
      if (!now) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => void this.poll(), now ? 0 : this.intervalMs);
    // A subscription keeps its own connection open; the poll alone keeps no process alive.
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    this.timer = null;
    this.polling = true;
    const number = ++this.polls;
    const starting = this.waiting.splice(0);
    try {
      const fresh = await this.readNew();
      this.lastFailed = false;
      if (this.listeners.size === 0) {
        this.window = null;
      } else {
        const news = fresh.flatMap((event) => {
          const recorded = recordedEvent(event);
          return recorded === null || this.claimed(recorded) ? [] : [recorded];
        });
        if (news.length > 0) {
          for (const listener of this.listeners) if (listener.active) listener.deliver(news);
        }
      }
      for (const { listener } of starting) listener.active = true;
      this.dropClaims(number);
    } catch {
      // The database did not answer: the subscribers hear nothing new (their heartbeats go on),
      // and the next poll reads what this one missed.
      this.lastFailed = true;
      for (const waiter of starting) {
        if (this.listeners.has(waiter.listener)) this.waiting.push({ ...waiter, ready: () => {} });
      }
    } finally {
      for (const waiter of starting) waiter.ready();
      this.polling = false;
      this.schedule();
    }
  }

  /**
   * The events recorded since the last read, oldest first. Ids come from a sequence, but a
   * transaction may commit after one holding a higher id: anything in the newest page not seen
   * before is news, whatever its id, as long as it is above the previous window.
   */
  private async readNew(): Promise<MigrationEvent[]> {
    const previous = this.window;
    const fetched: MigrationEvent[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await this.reader.history({ limit: PAGE_SIZE, cursor });
      fetched.push(...page.events);
      const oldest = page.events.at(-1);
      if (
        previous === null ||
        page.nextCursor === null ||
        oldest === undefined ||
        BigInt(oldest.id) <= previous.high ||
        fetched.length >= MAX_PER_POLL
      ) {
        break;
      }
      cursor = page.nextCursor;
    }
    let low = previous?.low ?? 0n;
    let high = previous?.high ?? 0n;
    fetched.forEach((event, i) => {
      const id = BigInt(event.id);
      if (i === 0 || id < low) low = id;
      if (id > high) high = id;
    });
    this.window = { ids: new Set(fetched.map((event) => event.id)), low, high };
    if (previous === null) return [];
    return fetched
      .filter((event) => !previous.ids.has(event.id) && BigInt(event.id) > previous.low)
      .sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
  }

  /** Whether a run of this process wrote it: then its first open claim takes it. */
  private claimed(event: RecordedMigrationEvent): boolean {
    const index = this.claims.findIndex(
      (claim) => claim.kind === event.kind && claim.migrationName === event.migrationName,
    );
    if (index === -1) return false;
    this.claims.splice(index, 1);
    return true;
  }

  private dropClaims(poll: number): void {
    for (let i = this.claims.length - 1; i >= 0; i--) {
      const dropAfter = this.claims[i]?.droppedAfterPoll ?? null;
      if (dropAfter !== null && dropAfter <= poll) this.claims.splice(i, 1);
    }
  }
}

/** An audit event as a subscriber is sent it; null for what is not a run's (baseline, resolve). */
export function recordedEvent(event: MigrationEvent): RecordedMigrationEvent | null {
  const common = {
    type: "migration_recorded" as const,
    runId: null,
    eventId: event.id,
    at: event.at,
    migrationName: event.migrationName,
    actor: event.actor,
  };
  const failed = event.outcome === "failed";
  const result = {
    migrationName: event.migrationName,
    executionTimeMs: event.executionTimeMs,
    error: failed ? event.errorMessage : null,
  };
  switch (event.action) {
    case "apply":
      return {
        ...common,
        kind: "apply",
        result: { ...result, status: failed ? "failed" : "applied" },
      };
    case "rollback":
      return {
        ...common,
        kind: "rollback",
        result: {
          ...result,
          // A mark-only rollback runs nothing, so records no time.
          status: failed
            ? "failed"
            : event.executionTimeMs === null
              ? "marked_rolled_back"
              : "rolled_back",
        },
      };
    default:
      return null;
  }
}
