import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ProgressEvent } from "@studio/migrations-trpc";
import { createTestDatabase, type TestDatabase } from "@studio/test-postgres";
import pg from "pg";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { progressClient } from "../../../packages/studio-migrate/src/testing/progress-client.ts";
import { sessionCookie, signIn, signOut } from "./auth-helpers.ts";
import { type StudioProcess, startStudio } from "./studio-process.ts";

/**
 * `migrations.progress` served by two real Studios (`next start`) over one PostgreSQL database:
 * a run on one replica streamed by the other, and a stream that ends when its session does —
 * signed out on the other replica.
 */

const SECRET = "replicas-studio-secret-8e4d21c7b9a03f56";
const migration = (up: string, down: string) => `-- migrate:up\n${up}\n-- migrate:down\n${down}\n`;
const FILES: Record<string, string> = {
  "001_first.sql": migration("create table first_table (id int);", "drop table first_table;"),
  "002_second.sql": migration("create table second_table (id int);", "drop table second_table;"),
};

let database: TestDatabase;
let migrationsDir: string;
let a: StudioProcess;
let b: StudioProcess;

beforeAll(async () => {
  database = await createTestDatabase("studio_progress_replicas");
  migrationsDir = mkdtempSync(join(tmpdir(), "studio-progress-replicas-"));
  for (const [name, text] of Object.entries(FILES)) writeFileSync(join(migrationsDir, name), text);
  const env = {
    DATABASE_URL: database.url,
    MIGRATION_SECRET: SECRET,
    MIGRATIONS_DIR: migrationsDir,
  };
  [a, b] = await Promise.all([startStudio(env), startStudio(env)]);
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await database?.drop();
  rmSync(migrationsDir, { recursive: true, force: true });
});

interface SseEvent {
  event: string;
  data: unknown;
}

/** `migrations.progress` as the page opens it (one GET that stays open), read off the wire. */
function openProgress(studio: StudioProcess, input: object, headers: Record<string, string>) {
  const raw: SseEvent[] = [];
  const events: ProgressEvent[] = [];
  const waits: { test: () => boolean; resolve: () => void }[] = [];
  const check = () => {
    for (const wait of [...waits]) {
      if (wait.test()) {
        waits.splice(waits.indexOf(wait), 1);
        wait.resolve();
      }
    }
  };
  const abort = new AbortController();
  const query = encodeURIComponent(JSON.stringify(superjson.serialize(input)));
  const closed = (async () => {
    const response = await fetch(`${studio.url}/api/trpc/migrations.progress?input=${query}`, {
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
        const lines = buffer.slice(0, end).split("\n");
        buffer = buffer.slice(end + 2);
        const field = (name: string) =>
          lines
            .filter((line) => line.startsWith(`${name}:`))
            .map((line) => line.slice(name.length + 1).replace(/^ /, ""))
            .join("\n");
        const data = field("data");
        const event = {
          event: field("event") || "message",
          data: data === "" ? null : JSON.parse(data),
        };
        raw.push(event);
        if (event.event === "message" && event.data !== null) {
          events.push(superjson.deserialize(event.data));
        }
        check();
      }
    }
  })().catch((error: unknown) => {
    if (!abort.signal.aborted) throw error;
  });
  return {
    raw,
    events,
    closed,
    close: () => abort.abort(),
    until(test: (events: ProgressEvent[]) => boolean): Promise<void> {
      if (test(events)) return Promise.resolve();
      return new Promise((resolve) => waits.push({ test: () => test(events), resolve }));
    },
  };
}

describe("migrations.progress across two Studio replicas", () => {
  it("a page on A is sent each migration a run on B finishes, as recorded", async () => {
    const page = openProgress(a, { heartbeatMs: 500 }, { "x-migration-secret": SECRET });
    await page.until((events) => events.some((e) => e.type === "heartbeat"));

    const report = await progressClient(b.url, SECRET, "deploy-bot").apply.mutate({});
    await page.until(
      (events) => events.filter((e) => e.type === "migration_recorded").length === 2,
    );
    page.close();

    expect(report.results.map((step) => step.status)).toEqual(["applied", "applied"]);
    expect(
      page.events.flatMap((e) =>
        e.type === "migration_recorded"
          ? [{ name: e.migrationName, kind: e.kind, status: e.result.status, actor: e.actor }]
          : [],
      ),
    ).toEqual([
      { name: "001_first", kind: "apply", status: "applied", actor: "deploy-bot" },
      { name: "002_second", kind: "apply", status: "applied", actor: "deploy-bot" },
    ]);
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    const { rows } = await admin.query(
      "select migration_name, status from platform.schema_migrations order by migration_name",
    );
    await admin.end();
    expect(rows).toEqual([
      { migration_name: "001_first", status: "applied" },
      { migration_name: "002_second", status: "applied" },
    ]);
  });

  it("signing out on A ends the session's open stream on B with 401 UNAUTHORIZED", async () => {
    const cookie = sessionCookie(await signIn(a, SECRET, { name: "Grace Hopper" }));
    const stream = openProgress(b, { heartbeatMs: 500 }, { cookie });
    await stream.until((events) => events.some((e) => e.type === "heartbeat"));

    const out = await signOut(a, cookie);
    await stream.closed;

    expect(out.status).toBe(204);
    const error = stream.raw.find((event) => event.event === "serialized-error");
    expect(error?.data).toMatchObject({
      json: { data: { code: "UNAUTHORIZED", httpStatus: 401 } },
    });
  });
});
