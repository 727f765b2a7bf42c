import { createHash, randomBytes, randomUUID } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { type Executor, type MigrationText, memorySource } from "@studio/migrations-core";
import { createPostgresExecutor, StudioAuthStore, transportOf } from "@studio/migrations-postgres";
import { createTestDatabase, type TestDatabase } from "@studio/test-postgres";
import pg from "pg";
import superjson from "superjson";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createMigrationsClient } from "./client.ts";
import { ACTOR_HEADER, SECRET_HEADER } from "./context.ts";
import type { ProgressEvent } from "./progress.ts";
import { STREAM_UNAUTHORIZED_MESSAGE } from "./progress.ts";
import { type MigrationsHttpServer, startMigrationsHttpServer } from "./testing/index.ts";

/**
 * `migrations.progress` over HTTP (server-sent events, read off the wire) against PostgreSQL:
 * runs on another replica of the same database, and streams that end when their session does.
 */

const SECRET = "replicas-test-secret-3f9a1c";
const ACTOR = "cli:ops@deploy-host";
const migration = (name: string, up: string): MigrationText => ({
  name,
  sql: `-- migrate:up\n${up}\n-- migrate:down\nselect 1;\n`,
});

interface SseEvent {
  event: string;
  id: string | null;
  data: unknown;
}

/**
 * Opens `migrations.progress` as a browser or the CLI does (one GET that stays open) and hands
 * each server-sent event to `onEvent`, tRPC's superjson decoded. `closed` settles when the
 * server ends the stream.
 */
function openProgress(
  url: string,
  input: Record<string, unknown>,
  headers: Record<string, string>,
  onEvent: (event: SseEvent) => void,
) {
  const abort = new AbortController();
  const query = encodeURIComponent(JSON.stringify(superjson.serialize(input)));
  const closed = (async () => {
    const response = await fetch(`${url}/api/trpc/migrations.progress?input=${query}`, {
      headers: { accept: "text/event-stream", ...headers },
      signal: abort.signal,
    });
    if (response.status !== 200 || response.body === null) {
      throw new Error(`progress answered ${response.status}: ${await response.text()}`);
    }
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const field = (name: string) =>
          block
            .split("\n")
            .filter((line) => line.startsWith(`${name}:`))
            .map((line) => line.slice(name.length + 1).replace(/^ /, ""))
            .join("\n");
        const data = field("data");
        onEvent({
          event: field("event") || "message",
          id: field("id") || null,
          data: data === "" ? null : JSON.parse(data),
        });
      }
    }
  })().catch((error: unknown) => {
    if (!abort.signal.aborted) throw error;
  });
  return { closed, close: () => abort.abort() };
}

/** A progress event's payload: tRPC sends it as the event's data, under superjson. */
function progressOf(event: SseEvent): ProgressEvent | null {
  if (event.event !== "message" || event.data === null) return null;
  return superjson.deserialize(event.data as Parameters<typeof superjson.deserialize>[0]);
}

/** Resolves when `test` first holds of what was collected so far (checked after each event). */
function waiter<T>(collected: T[]) {
  const waits: { test: (all: T[]) => boolean; resolve: () => void }[] = [];
  return {
    push(item: T) {
      collected.push(item);
      for (const wait of [...waits]) {
        if (wait.test(collected)) {
          waits.splice(waits.indexOf(wait), 1);
          wait.resolve();
        }
      }
    },
    until(test: (all: T[]) => boolean): Promise<void> {
      if (test(collected)) return Promise.resolve();
      return new Promise((resolve) => waits.push({ test, resolve }));
    },
  };
}

/** A subscriber's stream, with what it has received so far. */
function subscribe(url: string, input: Record<string, unknown>, headers: Record<string, string>) {
  const events: ProgressEvent[] = [];
  const raw: SseEvent[] = [];
  const progress = waiter(events);
  const all = waiter(raw);
  const stream = openProgress(url, input, headers, (event) => {
    all.push(event);
    const data = progressOf(event);
    if (data !== null) progress.push(data);
  });
  return {
    events,
    raw,
    closed: stream.closed,
    close: stream.close,
    until: progress.until,
    untilRaw: all.until,
    /** The first heartbeat: from then on, everything recorded is sent. */
    opened: () => progress.until((seen) => seen.some((e) => e.type === "heartbeat")),
  };
}

const recorded = (events: ProgressEvent[]) =>
  events.flatMap((e) =>
    e.type === "migration_recorded" ? [`${e.kind} ${e.migrationName} ${e.result.status}`] : [],
  );
const secretHeaders = { [SECRET_HEADER]: SECRET, [ACTOR_HEADER]: ACTOR };

describe("progress across two replicas of one PostgreSQL database", () => {
  const texts = [
    migration("001_first", "create table first_table (id int);"),
    migration("002_second", "create table second_table (id int);"),
    // Waits for the test's lock on `gate`: the run cannot end before the test lets it.
    migration("003_gated", "insert into gate values (1);"),
    migration("004_after", "create table after_table (id int);"),
  ];
  let database: TestDatabase;
  let executors: Executor[];
  let replicaX: MigrationsHttpServer;
  let replicaY: MigrationsHttpServer;
  let admin: pg.Client;
  const streams: { close(): void }[] = [];

  beforeAll(async () => {
    database = await createTestDatabase("trpc_progress_replicas");
    admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    await admin.query("create table gate (id int)");
    executors = [
      createPostgresExecutor({ connection: database.url }),
      createPostgresExecutor({ connection: database.url }),
    ];
    const start = (executor: Executor) =>
      startMigrationsHttpServer({ executor, source: memorySource(texts), secret: SECRET });
    [replicaX, replicaY] = await Promise.all([
      start(executors[0] as Executor),
      start(executors[1] as Executor),
    ]);
  });
  afterEach(() => {
    for (const stream of streams.splice(0)) stream.close();
  });
  afterAll(async () => {
    await Promise.all([replicaX?.close(), replicaY?.close()]);
    await Promise.all((executors ?? []).map((executor) => executor.close()));
    await admin?.end();
    await database?.drop();
  });

  it("a subscriber on X is sent each migration of a run on Y as it finishes, once, in order", async () => {
    const runId = randomUUID();
    // The CLI's way: its run's id, on whichever replica the load balancer picked.
    const onX = subscribe(replicaX.url, { runId, heartbeatMs: 200 }, secretHeaders);
    // The page's way, on each replica: every run.
    const pageX = subscribe(replicaX.url, { heartbeatMs: 200 }, secretHeaders);
    const pageY = subscribe(replicaY.url, { heartbeatMs: 200 }, secretHeaders);
    // The same run's subscriber on Y, where it runs: the hub's events, nothing recorded.
    const onY = subscribe(replicaY.url, { runId, heartbeatMs: 200 }, secretHeaders);
    streams.push(onX, pageX, pageY, onY);
    await Promise.all([onX.opened(), pageX.opened(), pageY.opened(), onY.opened()]);

    const gate = new pg.Client({ connectionString: database.url });
    await gate.connect();
    await gate.query("begin; lock table gate in share mode");
    const y = createMigrationsClient({ url: replicaY.url, secret: SECRET, actor: ACTOR });
    let applyReturned = false;
    const applying = y.apply
      .mutate({ upTo: "003_gated", runId, lockTimeoutMs: 120_000 })
      .finally(() => {
        applyReturned = true;
      });

    // 003 waits for the gate: the run is still going while X streams what it finished.
    await onX.until((seen) => recorded(seen).length === 2);
    expect(applyReturned).toBe(false);
    expect(recorded(onX.events)).toEqual(["apply 001_first applied", "apply 002_second applied"]);

    await gate.query("commit");
    await gate.end();
    const report = await applying;
    expect(report.results.map((step) => step.status)).toEqual(["applied", "applied", "applied"]);
    await onX.until((seen) => recorded(seen).length === 3);

    // Another run on X, by someone else, then a rollback on Y by a third: each replica's page
    // gets the other's as recorded — and, since each poll reads past everything recorded before
    // it, by then has read (and left out) the rows of its own replica's runs.
    const x = createMigrationsClient({ url: replicaX.url, secret: SECRET, actor: "colleague" });
    await x.apply.mutate({ migrationName: "004_after" });
    const reviewer = createMigrationsClient({
      url: replicaY.url,
      secret: SECRET,
      actor: "reviewer",
    });
    await reviewer.rollback.mutate({ migrationName: "004_after" });
    await pageX.until((seen) => recorded(seen).includes("rollback 004_after rolled_back"));
    await pageY.until((seen) => recorded(seen).includes("apply 004_after applied"));

    expect(recorded(onX.events)).toEqual([
      "apply 001_first applied",
      "apply 002_second applied",
      "apply 003_gated applied",
    ]);
    expect(onX.events.every((e) => e.type === "heartbeat" || e.type === "migration_recorded")).toBe(
      true,
    );
    // Taken as the run it follows; a page's, which follows no run, are of none.
    expect(onX.events.flatMap((e) => (e.type === "migration_recorded" ? [e.runId] : []))).toEqual([
      runId,
      runId,
      runId,
    ]);
    expect(pageX.events.every((e) => e.type !== "migration_recorded" || e.runId === null)).toBe(
      true,
    );
    const finished = (events: ProgressEvent[]) =>
      events.flatMap((e) =>
        e.type === "migration_finished" ? [`${e.kind} ${e.migrationName}`] : [],
      );
    // Each replica's page: its own runs in full from the hub, the other's as recorded — never
    // both for one migration.
    expect(recorded(pageX.events)).toEqual([
      "apply 001_first applied",
      "apply 002_second applied",
      "apply 003_gated applied",
      "rollback 004_after rolled_back",
    ]);
    expect(finished(pageX.events)).toEqual(["apply 004_after"]);
    expect(recorded(pageY.events)).toEqual(["apply 004_after applied"]);
    expect(finished(pageY.events).slice(0, 3)).toEqual([
      "apply 001_first",
      "apply 002_second",
      "apply 003_gated",
    ]);
    expect(recorded(onY.events)).toEqual([]);
    expect(finished(onY.events)).toEqual([
      "apply 001_first",
      "apply 002_second",
      "apply 003_gated",
    ]);
    const { rows } = await admin.query<{ migration_name: string; action: string; actor: string }>(
      "select migration_name, action, actor from platform.schema_migration_events order by id",
    );
    expect(rows).toEqual([
      { migration_name: "001_first", action: "apply", actor: ACTOR },
      { migration_name: "002_second", action: "apply", actor: ACTOR },
      { migration_name: "003_gated", action: "apply", actor: ACTOR },
      { migration_name: "004_after", action: "apply", actor: "colleague" },
      { migration_name: "004_after", action: "rollback", actor: "reviewer" },
    ]);
  });
});

describe("a progress stream ends when its session does", () => {
  let database: TestDatabase;
  let executor: Executor;
  let store: StudioAuthStore;
  let server: MigrationsHttpServer;
  let secret = SECRET;
  const hash = (id: string) => createHash("sha256").update(id).digest("hex");
  const sessionOf = (headers: IncomingHttpHeaders) =>
    /(?:^|;\s*)session=([\w-]+)/.exec(headers.cookie ?? "")?.[1] ?? null;

  beforeAll(async () => {
    database = await createTestDatabase("trpc_progress_session");
    executor = createPostgresExecutor({ connection: database.url });
    const transport = transportOf(executor);
    if (!transport) throw new Error("the postgres executor exposes no transport");
    store = new StudioAuthStore({ transport });
    server = await startMigrationsHttpServer({
      executor,
      source: memorySource([]),
      secret: () => secret,
      // Studio's way: the cookie names a session row; the stream asks again whether it is there.
      authenticate: async (headers) => {
        const id = sessionOf(headers);
        if (id === null) return null;
        const session = await store.activeSession(hash(id));
        if (session === null) return null;
        return {
          actor: session.actor,
          stillAuthorized: async () => (await store.activeSession(hash(id))) !== null,
        };
      },
    });
  });
  afterAll(async () => {
    await server?.close();
    await executor?.close();
    await database?.drop();
  });

  it("signing out ends an open stream with UNAUTHORIZED", async () => {
    const id = randomBytes(32).toString("base64url");
    await store.createSession({ idHash: hash(id), actor: "Grace Hopper", ttlSeconds: 600 });
    const stream = subscribe(server.url, { heartbeatMs: 200 }, { cookie: `session=${id}` });
    await stream.opened();

    const ended = await store.endSession(hash(id));
    await stream.closed;

    expect(ended).toEqual({ actor: "Grace Hopper" });
    const error = stream.raw.find((event) => event.event === "serialized-error");
    expect(error?.data).toMatchObject({
      json: { message: STREAM_UNAUTHORIZED_MESSAGE, data: { code: "UNAUTHORIZED" } },
    });
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query("select count(*)::int as n from studio_auth.sessions");
    await client.end();
    expect(rows[0]).toEqual({ n: 0 });
  });

  it("a stream opened with the secret ends once the secret is no longer the one expected", async () => {
    const stream = subscribe(server.url, { heartbeatMs: 200 }, secretHeaders);
    await stream.opened();

    secret = "rotated-secret-6b2e08d4";
    await stream.closed;

    const error = stream.raw.find((event) => event.event === "serialized-error");
    expect(error?.data).toMatchObject({ json: { data: { code: "UNAUTHORIZED" } } });
    secret = SECRET;
  });

  it("a stream whose session holds goes on: heartbeats keep coming after several re-checks", async () => {
    const id = randomBytes(32).toString("base64url");
    await store.createSession({ idHash: hash(id), actor: "Ada Lovelace", ttlSeconds: 600 });
    const stream = subscribe(server.url, { heartbeatMs: 200 }, { cookie: `session=${id}` });

    await stream.until((seen) => seen.filter((e) => e.type === "heartbeat").length >= 4);
    stream.close();

    expect(stream.raw.some((event) => event.event === "serialized-error")).toBe(false);
  });
});
