import { isCutMessage, loadMigrationTexts, MESSAGE_CAP_BYTES } from "@studio/migrations-core";
import { createMemoryDatabase, MemoryExecutor } from "@studio/migrations-core/testing";
import { afterEach, describe, expect, it } from "vitest";
import { attemptLogLine } from "./logging.ts";
import { type MigrationsHttpServer, startMigrationsHttpServer } from "./testing/index.ts";

const SECRET = "a-secret-of-at-least-thirty-two-characters";
/** A 20 MB message, as a migration's `RAISE` of a whole table would give. */
const HUGE = `boom ${"x".repeat(20 * 1024 * 1024)}`;

let server: MigrationsHttpServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function serve(logs: string[]) {
  const database = createMemoryDatabase();
  const executor = new MemoryExecutor({
    database,
    failures: [{ migrationName: "002_b", error: { message: HUGE, code: "P0001" } }],
  });
  const texts = [
    { name: "001_a", sql: "-- migrate:up\nCREATE TABLE a (id int);\n" },
    { name: "002_b", sql: "-- migrate:up\nCREATE TABLE b (id int);\n" },
  ];
  server = await startMigrationsHttpServer({
    executor,
    source: { load: async () => loadMigrationTexts(texts) },
    secret: SECRET,
    onAttempt: (attempt) => logs.push(attemptLogLine(attempt)),
  });
  return { database, url: server.url };
}

async function post(url: string, procedure: string, json: unknown) {
  const response = await fetch(`${url}/api/trpc/migrations.${procedure}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-migration-secret": SECRET },
    body: JSON.stringify({ json }),
  });
  return { status: response.status, text: await response.text() };
}

describe("a 20 MB error message (SPEC §3)", () => {
  it("is stored, logged and returned cut to 16 KiB, marked, and travels once in the 422", async () => {
    const logs: string[] = [];
    const { database, url } = await serve(logs);

    const applied = await post(url, "apply", {});
    expect(applied.status).toBe(422);
    // One capped copy of the message, plus the envelope: nowhere near 20 MB (or 3 × 16 KiB).
    expect(applied.text.length).toBeLessThan(MESSAGE_CAP_BYTES + 8 * 1024);
    const body = JSON.parse(applied.text);
    const migration = body.error.json.data.migration;
    expect(isCutMessage(migration.failure.message)).toBe(true);
    expect(migration.failure.message.startsWith("boom xxx")).toBe(true);
    expect(body.error.json.message).toMatch(/^Migration 002_b failed: boom x+ …$/);
    expect(body.error.json.message.length).toBeLessThan(300);
    const failedStep = migration.results.find(
      (step: { migrationName: string }) => step.migrationName === "002_b",
    );
    expect(failedStep).toMatchObject({ status: "failed", error: null });

    const record = database.records.get("002_b");
    expect(record?.status).toBe("failed");
    expect(isCutMessage(record?.errorMessage ?? "")).toBe(true);
    expect(Buffer.byteLength(record?.errorMessage ?? "")).toBeLessThanOrEqual(MESSAGE_CAP_BYTES);
    const event = database.events.find((e) => e.migrationName === "002_b");
    expect(isCutMessage(event?.errorMessage ?? "")).toBe(true);

    const logged = logs.map((line) => JSON.parse(line)).find((l) => l.migration === "002_b");
    expect(logged.outcome).toBe("failed");
    expect(Buffer.byteLength(logged.error)).toBeLessThanOrEqual(MESSAGE_CAP_BYTES);

    // `list` and `history` stay light, with the message marked as cut.
    const list = await fetch(`${url}/api/trpc/migrations.list`, {
      headers: { "x-migration-secret": SECRET },
    });
    const listed = await list.text();
    expect(list.status).toBe(200);
    expect(listed.length).toBeLessThan(3 * MESSAGE_CAP_BYTES + 8 * 1024);
  });
});
