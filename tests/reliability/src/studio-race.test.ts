import { createMigrationsClient } from "@studio/migrations-trpc/client";
import { createTestDatabase, type TestDatabase } from "@studio/test-postgres";
import { TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StudioProcess, startStudio } from "../../../apps/studio/test/studio-process.ts";
import { describeRun, directArgs, runCli } from "./support/cli.ts";
import { APPLIERS, ROUNDS } from "./support/config.ts";
import { catalog, exactlyOnceViolations, resetDatabase } from "./support/database.ts";
import {
  MIGRATION_NAMES,
  type MigrationFile,
  migrationSet,
  removeAllDirs,
  removeDir,
  writeMigrationsDir,
} from "./support/migrations.ts";
import { Figures } from "./support/summary.ts";

const SECRET = "reliability-race-secret-1c9e5f02a8";
const figures = new Figures("concurrent HTTP applies against Studio");

let database: TestDatabase;
let files: MigrationFile[];
let dir: string;
let serial: string[];
const studios: StudioProcess[] = [];

beforeAll(async () => {
  files = migrationSet();
  dir = writeMigrationsDir(files);
  const reference = await createTestDatabase("studio_race_serial");
  try {
    const run = await runCli(directArgs(["apply"], reference.url, dir));
    expect(run.code, describeRun(run)).toBe(0);
    serial = await catalog(reference.url);
  } finally {
    await reference.drop();
  }
  database = await createTestDatabase("studio_race");
  const env = { DATABASE_URL: database.url, MIGRATION_SECRET: SECRET, MIGRATIONS_DIR: dir };
  studios.push(...(await Promise.all([startStudio(env), startStudio(env)])));
});
afterAll(async () => {
  figures.print();
  await Promise.all(studios.map((s) => s.stop()));
  await database?.drop();
  if (dir) removeDir(dir);
  removeAllDirs();
});

interface Outcome {
  via: string;
  steps: { name: string; status: string }[];
  /** The documented refusal, when it was one. */
  refused: string | null;
}

/** `curl -X POST …/apply -H "x-migration-secret: …" -d '{}'`, as deploy scripts call it. */
async function restApply(studio: StudioProcess, actor: string): Promise<Outcome> {
  const response = await fetch(`${studio.url}/api/platform/migrations/apply`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-migration-secret": SECRET,
      "x-migration-actor": actor,
    },
    body: "{}",
  });
  const body = (await response.json()) as {
    results?: { migration_name: string; status: string }[];
    code?: string;
    error?: string;
  };
  if (response.status === 200) {
    return {
      via: "rest",
      steps: (body.results ?? []).map((r) => ({ name: r.migration_name, status: r.status })),
      refused: null,
    };
  }
  if (response.status === 409 && body.code === "LOCK_BUSY")
    return { via: "rest", steps: [], refused: "LOCK_BUSY" };
  throw new Error(`REST apply answered ${response.status}: ${JSON.stringify(body)}`);
}

/** The typed tRPC client, as `studio-migrate --url` uses it. */
async function trpcApply(studio: StudioProcess, actor: string): Promise<Outcome> {
  const client = createMigrationsClient({ url: studio.url, secret: SECRET, actor });
  try {
    const report = await client.apply.mutate({});
    return {
      via: "trpc",
      steps: report.results.map((r) => ({ name: r.migrationName, status: r.status })),
      refused: null,
    };
  } catch (error) {
    const code =
      error instanceof TRPCClientError
        ? (error.data as { migration?: { code?: string } } | undefined)?.migration?.code
        : undefined;
    if (code === "LOCK_BUSY") return { via: "trpc", steps: [], refused: code };
    throw error;
  }
}

async function race(targets: StudioProcess[], round: number): Promise<void> {
  await resetDatabase(database.url);
  const outcomes = await Promise.all(
    Array.from({ length: APPLIERS }, (_, i) => {
      const studio = targets[i % targets.length] as StudioProcess;
      const actor = `http-r${round}-a${i}`;
      return i % 2 === 0 ? restApply(studio, actor) : trpcApply(studio, actor);
    }),
  );
  const applied: Record<string, number> = {};
  for (const outcome of outcomes) {
    if (outcome.refused) figures.add("lock busy");
    for (const step of outcome.steps) {
      expect(["applied", "already_applied"]).toContain(step.status);
      if (step.status === "applied") applied[step.name] = (applied[step.name] ?? 0) + 1;
    }
    figures.add(`${outcome.via} calls`);
  }
  expect(applied, `round ${round}`).toEqual(Object.fromEntries(MIGRATION_NAMES.map((n) => [n, 1])));
  expect(await exactlyOnceViolations(database.url, files), `round ${round}`).toEqual([]);
  expect(await catalog(database.url), `round ${round}`).toEqual(serial);
  figures.add("migrations applied exactly once", files.length);
}

describe(`${APPLIERS} concurrent HTTP applies (REST and tRPC, half each)`, () => {
  it(`against one Studio: each migration applied exactly once, in each of ${ROUNDS} rounds`, async () => {
    for (let round = 1; round <= ROUNDS; round++) {
      await race([studios[0] as StudioProcess], round);
      figures.add("one-Studio rounds");
    }
  });

  it(`against two Studio processes sharing one database, in each of ${ROUNDS} rounds`, async () => {
    for (let round = 1; round <= ROUNDS; round++) {
      await race(studios, round);
      figures.add("two-Studio rounds");
    }
  });

  it("logged one line per attempt, and never the secret or a stack trace", () => {
    const logs = studios.map((s) => s.output()).join("\n");
    expect(logs).toContain('"event":"migration_attempt"');
    expect(logs).not.toContain(SECRET);
    expect(logs).not.toMatch(/\n\s+at /);
  });
});
