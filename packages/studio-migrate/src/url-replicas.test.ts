import { spawn } from "node:child_process";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { directorySource, type Executor } from "@studio/migrations-core";
import { createPostgresExecutor } from "@studio/migrations-postgres";
import {
  type MigrationsHttpServer,
  startMigrationsHttpServer,
} from "@studio/migrations-trpc/testing";
import { createTestDatabase, type TestDatabase } from "@studio/test-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migration, removeTempDirs, states, tempDir } from "./testing/cli.ts";
import { BIN, REPO_ROOT } from "./testing/paths.ts";

/**
 * `studio-migrate --url` behind a load balancer in front of two Studio replicas of one database:
 * the run's progress stream lands on one replica, its apply on the other.
 */

const SECRET = "replicas-cli-secret-51d7e0a9";
const FILES: Record<string, string> = {
  "001_create_widgets.sql": migration("create table widgets (id int);", "drop table widgets;"),
  "002_create_gadgets.sql": migration("create table gadgets (id int);", "drop table gadgets;"),
  // Waits for the test's lock on `gate`: the run cannot end before the test lets it.
  "003_gated.sql": migration("insert into gate values (1);", "delete from gate;"),
};

let database: TestDatabase;
let executors: Executor[] = [];
let replicas: MigrationsHttpServer[] = [];
let balancer: Server;
let balancerUrl: string;

/**
 * The load balancer: the progress stream goes to replica X, every other request to replica Y —
 * the unlucky split a round-robin balancer makes when the CLI's stream and call go out together.
 */
async function startBalancer(streamTo: string, callsTo: string): Promise<Server> {
  const server = createServer((req, res) => {
    const target = req.url?.includes("migrations.progress") ? streamTo : callsTo;
    const upstream = request(
      new URL(req.url ?? "/", target),
      { method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

beforeAll(async () => {
  database = await createTestDatabase("cli_replicas");
  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  await admin.query("create table gate (id int)");
  await admin.end();
  const dir = tempDir(FILES);
  executors = [
    createPostgresExecutor({ connection: database.url }),
    createPostgresExecutor({ connection: database.url }),
  ];
  const start = (executor: Executor) =>
    startMigrationsHttpServer({ executor, source: directorySource(dir), secret: SECRET });
  replicas = [await start(executors[0] as Executor), await start(executors[1] as Executor)];
  const [x, y] = replicas as [MigrationsHttpServer, MigrationsHttpServer];
  balancer = await startBalancer(x.url, y.url);
  balancerUrl = `http://127.0.0.1:${(balancer.address() as AddressInfo).port}`;
});
afterAll(async () => {
  balancer?.closeAllConnections();
  await new Promise((resolve) => balancer?.close(resolve));
  await Promise.all(replicas.map((replica) => replica.close()));
  await Promise.all(executors.map((executor) => executor.close()));
  await database?.drop();
  removeTempDirs();
});

const LINE = /^ {2}applied\s+(<1|\d+) ms {2}(\d{3}_\w+)$/gm;
const appliedLines = (stdout: string) => [...stdout.matchAll(LINE)].map((match) => match[2]);

describe("through a load balancer, the stream on one replica and the run on another", () => {
  it("apply prints each migration's line as it finishes, once", async () => {
    const gate = new pg.Client({ connectionString: database.url });
    await gate.connect();
    await gate.query("begin; lock table gate in share mode");

    // Spawned rather than run to the end: its output is read while the run is still going.
    const child = spawn(
      process.execPath,
      [BIN, "apply", "--url", balancerUrl, "--lock-timeout", "120000", "--actor", "deploy-bot"],
      {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "",
          MIGRATION_SECRET: SECRET,
        },
      },
    );
    let stdout = "";
    let stderr = "";
    let exited = false;
    const seen: (() => void)[] = [];
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      for (const check of seen) check();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exit = new Promise<number | null>((resolve) =>
      child.on("exit", (code) => {
        exited = true;
        for (const check of seen) check();
        resolve(code);
      }),
    );

    // 003 waits for the gate, so the run is still going on replica Y: the lines of 001 and 002
    // can only have come from replica X's stream.
    await new Promise<void>((resolve) =>
      seen.push(() => {
        if (exited || appliedLines(stdout).length >= 2) resolve();
      }),
    );
    expect(exited).toBe(false);
    expect(appliedLines(stdout)).toEqual(["001_create_widgets", "002_create_gadgets"]);

    await gate.query("commit");
    await gate.end();
    const code = await exit;

    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(appliedLines(stdout)).toEqual(["001_create_widgets", "002_create_gadgets", "003_gated"]);
    expect(stdout).toContain("Applied 3 migrations in");
    expect(await states(database.url)).toEqual({
      "001_create_widgets": "applied",
      "002_create_gadgets": "applied",
      "003_gated": "applied",
    });
  });
});
