import { createServer, request, type Server } from "node:http";
import { type AddressInfo, createServer as createTcpServer, type Socket } from "node:net";
import { directorySource, loadMigrationTexts } from "@studio/migrations-core";
import { createMemoryDatabase, MemoryExecutor } from "@studio/migrations-core/testing";
import { createPostgresExecutor } from "@studio/migrations-postgres";
import { startMigrationsHttpServer } from "@studio/migrations-trpc/testing";
import { createTestDatabase } from "@studio/test-postgres";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { flat, removeTempDirs, runCli, states, tempDir, WIDGETS } from "./testing/cli.ts";

const SECRET = "correct-horse-battery-staple";
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
afterAll(() => removeTempDirs());

/** A server that accepts connections and never answers: what a hung Studio looks like. */
async function silentServer(): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Forwards to `target`, except the progress stream, which it answers as a Studio without it. */
async function withoutProgress(target: string): Promise<string> {
  const server: Server = createServer((req, res) => {
    if (req.url?.includes("migrations.progress")) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end('{"error":{"message":"No procedure found on path \\"migrations.progress\\""}}');
      return;
    }
    const upstream = request(
      new URL(req.url ?? "/", target),
      { method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const timed = async <T>(work: () => Promise<T>) => {
  const started = Date.now();
  const result = await work();
  return { result, ms: Date.now() - started };
};

describe("--timeout: a Studio that does not answer", () => {
  it("fails a plain request after --timeout with a clear message, instead of hanging", async () => {
    const url = await silentServer();

    const { result, ms } = await timed(() =>
      runCli(["status", "--url", url, "--timeout", "2", "--json"], {
        env: { MIGRATION_SECRET: SECRET },
      }),
    );

    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).error).toMatchObject({
      code: "STUDIO_TIMEOUT",
      message: `Studio at ${url} did not answer within 2 s.`,
    });
    expect(ms).toBeGreaterThanOrEqual(1_900);
    expect(ms).toBeLessThan(15_000);
  });

  it("fails a run (apply) after --timeout too: no answer, no progress", async () => {
    const url = await silentServer();

    const { result, ms } = await timed(() =>
      runCli(["apply", "--url", url, "--timeout", "2"], { env: { MIGRATION_SECRET: SECRET } }),
    );

    expect(result.code).toBe(1);
    expect(flat(result.stderr)).toContain(`error: Studio at ${url} did not answer within 2 s.`);
    expect(flat(result.stderr)).toContain(`check with \`studio-migrate status --url ${url}`);
    expect(ms).toBeLessThan(15_000);
  });
});

describe("a Studio whose progress stream cannot be opened", () => {
  it("applies all the same, printing the lines when the run ends, and says so once", async () => {
    const database = await createTestDatabase("cli_no_stream");
    const executor = createPostgresExecutor({ connection: database.url });
    const studio = await startMigrationsHttpServer({
      executor,
      source: directorySource(tempDir(WIDGETS)),
      secret: SECRET,
    });
    cleanups.push(async () => {
      await studio.close();
      await executor.close();
      await database.drop();
    });
    const url = await withoutProgress(studio.url);

    const result = await runCli(["apply", "--url", url], { env: { MIGRATION_SECRET: SECRET } });

    expect(result.code).toBe(0);
    expect(result.stdout.match(/^ {2}applied\s+(<1|\d+) ms {2}\d{3}_\w+$/gm)).toHaveLength(3);
    expect(result.stderr.match(/note:/g)).toHaveLength(1);
    expect(flat(result.stderr)).toContain(
      `note: Studio at ${url} does not stream progress (Non-200 status code (404)): each migration's line is printed when the run ends`,
    );
    expect(await states(database.url)).toEqual({
      "001_create_widgets": "applied",
      "002_add_widget_name": "applied",
      "003_create_gadgets": "applied",
    });
  });
});

describe("--lock-timeout and --statement-timeout through Studio", () => {
  /** Studio over the in-memory executor, whose own lock timeout is a minute. */
  async function memoryStudio() {
    const database = createMemoryDatabase();
    const executor = new MemoryExecutor({ database, timeouts: { lockTimeoutMs: 60_000 } });
    const texts = Object.entries(WIDGETS).map(([file, sql]) => ({
      name: file.replace(/\.sql$/, ""),
      sql,
    }));
    const studio = await startMigrationsHttpServer({
      executor,
      source: { load: async () => loadMigrationTexts(texts) },
      secret: SECRET,
    });
    cleanups.push(() => studio.close());
    return { database, url: studio.url };
  }

  it("a run's --lock-timeout reaches the executor: it gives up on a locked table at once", async () => {
    const { database, url } = await memoryStudio();
    // Another session holds a lock on the table the first migration creates.
    database.lockedTables.add("widgets");

    const { result, ms } = await timed(() =>
      runCli(["apply", "--url", url, "--lock-timeout", "50", "--json"], {
        env: { MIGRATION_SECRET: SECRET },
      }),
    );

    expect(result.code).toBe(1);
    const document = JSON.parse(result.stdout);
    expect(document.error).toMatchObject({
      code: "MIGRATION_FAILED",
      migrationName: "001_create_widgets",
      failure: { code: "55P03", message: "canceling statement due to lock timeout" },
      hint: expect.stringContaining("--lock-timeout <ms>"),
    });
    // The executor's own limit (a minute) was not what applied.
    expect(ms).toBeLessThan(30_000);
    expect(database.records.get("001_create_widgets")?.status).toBe("failed");
    expect(database.tables.has("widgets")).toBe(false);
  });

  it("out-of-range values are refused by Studio too, before anything runs", async () => {
    const { database, url } = await memoryStudio();
    const response = await fetch(`${url}/api/trpc/migrations.apply`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-migration-secret": SECRET },
      body: JSON.stringify({ json: { lockTimeoutMs: 600_001 } }),
    });

    expect(response.status).toBe(400);
    expect(JSON.stringify(await response.json())).toContain("must be at most 600000 ms");
    expect(database.records.size).toBe(0);
  });
});
