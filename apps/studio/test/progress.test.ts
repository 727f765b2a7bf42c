import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ProgressEvent } from "@studio/migrations-trpc";
import type { MigrationsClient } from "@studio/migrations-trpc/client";
import { createTestDatabase, type TestDatabase } from "@studio/test-postgres";
import pg from "pg";
import superjson from "superjson";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { BIN } from "../../../packages/studio-migrate/src/testing/paths.ts";
import { progressClient } from "../../../packages/studio-migrate/src/testing/progress-client.ts";
import { type StudioProcess, startStudio } from "./studio-process.ts";

/**
 * Apply progress, streamed from a real Studio (`next start` over PostgreSQL) as server-sent
 * events through the pages router: to the typed client, and to `studio-migrate --url`.
 */

const SECRET = "progress-test-secret-7d41c9e2a85b3f60";
const migration = (up: string, down: string) => `-- migrate:up\n${up}\n-- migrate:down\n${down}\n`;
const FILES: Record<string, string> = {
  "001_quick.sql": migration("create table quick (id int);", "drop table quick;"),
  "002_slow.sql": migration("select pg_sleep(3);\ncreate table slow (id int);", "drop table slow;"),
  "003_last.sql": migration("create table last (id int);", "drop table last;"),
};

let database: TestDatabase;
let studio: StudioProcess;
let admin: pg.Client;
let migrationsDir: string;
let client: MigrationsClient;

beforeAll(async () => {
  database = await createTestDatabase("studio_progress");
  migrationsDir = mkdtempSync(join(tmpdir(), "studio-progress-migrations-"));
  for (const [name, text] of Object.entries(FILES)) writeFileSync(join(migrationsDir, name), text);
  studio = await startStudio({
    DATABASE_URL: database.url,
    MIGRATION_SECRET: SECRET,
    MIGRATIONS_DIR: migrationsDir,
  });
  admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  client = progressClient(studio.url, SECRET, "progress-test");
});
afterAll(async () => {
  await studio?.stop();
  await admin?.end();
  await database?.drop();
  rmSync(migrationsDir, { recursive: true, force: true });
});

/** Every test starts with nothing applied (the down sections undo each migration). */
beforeEach(async () => {
  const { applied } = await client.list.query();
  if (applied.length > 0) await client.rollback.mutate({ steps: applied.length });
});

async function appliedNames(): Promise<string[]> {
  const { rows } = await admin.query<{ migration_name: string }>(
    "select migration_name from platform.schema_migrations where status = 'applied' order by migration_name",
  );
  return rows.map((row) => row.migration_name);
}

/** Subscribes to `migrations.progress` and collects events until `until` says the run is over. */
function watch(input: { runId: string; heartbeatMs?: number }) {
  const events: ProgressEvent[] = [];
  let opened: () => void = () => {};
  const first = new Promise<void>((resolve) => {
    opened = resolve;
  });
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const subscription = client.progress.subscribe(input, {
    onData: ({ data }: { data: ProgressEvent }) => {
      events.push(data);
      opened();
      if (data.type === "run_finished") finish();
    },
    onError: (error: unknown) => {
      throw error;
    },
  });
  return {
    events,
    first,
    finished,
    stop: () => subscription.unsubscribe(),
  };
}

/** Runs the built CLI, noting when each chunk of its stdout arrived. */
function runCliTimed(args: string[]) {
  return new Promise<{
    code: number | null;
    stdout: string;
    stderr: string;
    chunks: { at: number; text: string }[];
    ended: number;
  }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args, "--url", studio.url], {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        NODE_ENV: "production",
        MIGRATION_SECRET: SECRET,
      },
    });
    const chunks: { at: number; text: string }[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) =>
      chunks.push({ at: Date.now(), text: String(chunk) }),
    );
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += String(chunk);
    });
    child.on("close", (code) =>
      resolve({
        code,
        stdout: chunks.map((chunk) => chunk.text).join(""),
        stderr,
        chunks,
        ended: Date.now(),
      }),
    );
  });
}

describe("migrations.progress, served by Studio as server-sent events", () => {
  it("streams a 3-migration apply's events in order to the client that named the run", async () => {
    const runId = crypto.randomUUID();
    const stream = watch({ runId, heartbeatMs: 500 });
    await stream.first;

    await client.apply.mutate({ runId });
    await stream.finished;
    stream.stop();

    const runEvents = stream.events.filter((event) => event.type !== "heartbeat");
    expect(
      runEvents.map((e) => ("migrationName" in e ? `${e.type} ${e.migrationName}` : e.type)),
    ).toEqual([
      "run_started",
      "migration_started 001_quick",
      "migration_finished 001_quick",
      "migration_started 002_slow",
      "migration_finished 002_slow",
      "migration_started 003_last",
      "migration_finished 003_last",
      "run_finished",
    ]);
    expect(runEvents.every((event) => event.runId === runId)).toBe(true);
    expect(runEvents[0]).toMatchObject({ kind: "apply", total: 3 });
    expect(runEvents.at(-1)).toMatchObject({ outcome: "succeeded", completed: 3 });
    expect(runEvents[4]).toMatchObject({
      result: { migrationName: "002_slow", status: "applied" },
    });
    // While 002 slept, heartbeats named it and how long it had run.
    const during = stream.events.filter(
      (event) => event.type === "heartbeat" && event.running[0]?.migrationName === "002_slow",
    );
    expect(during.length).toBeGreaterThanOrEqual(2);
    expect(during.at(-1)).toMatchObject({
      running: [{ runId, index: 1, total: 3, elapsedMs: expect.any(Number) }],
    });
    expect(runEvents[0]?.at).toBeInstanceOf(Date);
    expect(await appliedNames()).toEqual(["001_quick", "002_slow", "003_last"]);
  });

  it("refuses a subscriber without the secret, as every procedure does", async () => {
    const stranger = progressClient(studio.url, "not-the-secret");
    const error = await new Promise<unknown>((resolve) => {
      const subscription = stranger.progress.subscribe(
        { runId: crypto.randomUUID() },
        { onData: () => {}, onError: resolve },
      );
      setTimeout(() => {
        subscription.unsubscribe();
        resolve(null);
      }, 10_000);
    });
    expect(error).toMatchObject({ data: { code: "UNAUTHORIZED" } });
  });
});

describe("studio-migrate apply --url, as a run progresses", () => {
  it("prints each migration's line as it finishes, the first well before the slow one ends", async () => {
    const result = await runCliTimed(["apply"]);

    expect(result.code).toBe(0);
    const at = (name: string) => result.chunks.find((chunk) => chunk.text.includes(name))?.at;
    const quick = at("001_quick");
    const slow = at("002_slow");
    expect(quick).toBeDefined();
    expect(slow).toBeDefined();
    // 002 sleeps 3 s: 001's line came out before it started, not with the rest at the end.
    expect((slow as number) - (quick as number)).toBeGreaterThan(2_500);
    expect(result.ended - (quick as number)).toBeGreaterThan(2_500);
    expect(result.stdout).toMatch(/applied\s+\d\.\d s {2}002_slow/);
    expect(result.stderr).toBe("");
    expect(await appliedNames()).toEqual(["001_quick", "002_slow", "003_last"]);
  });

  it("--timeout 2 does not cut a 5 s migration short: Studio's heartbeats keep it alive", async () => {
    writeFileSync(
      join(migrationsDir, "004_slower.sql"),
      migration("select pg_sleep(5);\ncreate table slower (id int);", "drop table slower;"),
    );
    try {
      const result = await runCliTimed(["apply", "--timeout", "2"]);

      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/applied\s+5\.\d s {2}004_slower/);
      expect(await appliedNames()).toEqual(["001_quick", "002_slow", "003_last", "004_slower"]);
    } finally {
      const { applied } = await client.list.query();
      if (applied.length > 0) await client.rollback.mutate({ steps: applied.length });
      rmSync(join(migrationsDir, "004_slower.sql"));
    }
  });

  it("rollback runs stream too: a line per migration, newest first", async () => {
    await client.apply.mutate({});

    const result = await runCliTimed(["rollback", "--steps", "3"]);

    expect(result.code).toBe(0);
    expect(result.stdout.match(/rolled back .*/g)).toEqual([
      expect.stringMatching(/003_last$/),
      expect.stringMatching(/002_slow$/),
      expect.stringMatching(/001_quick$/),
    ]);
    expect(await appliedNames()).toEqual([]);
  });
});

describe("request limits at /api/trpc", () => {
  const get = (path: string, input: unknown) =>
    fetch(
      `${studio.url}/api/trpc/${path}?${new URLSearchParams({ input: JSON.stringify(input) })}`,
      { headers: { "x-migration-secret": SECRET } },
    );

  it("a batch of more than 10 calls is a 400 that names the limit; 10 are served", async () => {
    const url = (n: number) =>
      `${studio.url}/api/trpc/${Array(n).fill("migrations.list").join(",")}?batch=1&input=%7B%7D`;

    const ten = await fetch(url(10), { headers: { "x-migration-secret": SECRET } });
    const eleven = await fetch(url(11), { headers: { "x-migration-secret": SECRET } });
    const thousand = await fetch(url(1000), { headers: { "x-migration-secret": SECRET } });

    expect(ten.status).toBe(200);
    expect(await ten.json()).toHaveLength(10);
    for (const response of [eleven, thousand]) {
      expect(response.status).toBe(400);
      const body = superjson.deserialize((await response.json()).error) as {
        message: string;
        data: { code: string };
      };
      expect(body.message).toBe("Too many calls in one request: a batch may hold at most 10.");
      expect(body.data.code).toBe("BAD_REQUEST");
    }
  });

  it("a history cursor above 2^63 - 1 is a 400 BAD_REQUEST; 2^63 - 1 itself is served", async () => {
    const history = (cursor: string) =>
      get("migrations.history", { json: { cursor } }).then(async (response) => ({
        status: response.status,
        body: await response.json(),
      }));

    await client.apply.mutate({ upTo: "001_quick" });
    const largest = await history("9223372036854775807");
    const beyond = await history("9223372036854775808");

    expect(largest.status).toBe(200);
    // Every event is older than the largest cursor: the first page, as without one.
    expect(largest.body.result.data.json.events.length).toBeGreaterThan(0);
    expect(beyond.status).toBe(400);
    expect(beyond.body.error.json.data.code).toBe("BAD_REQUEST");
    expect(beyond.body.error.json.message).toContain(
      "a whole number from 1 to 9223372036854775807",
    );
  });
});
