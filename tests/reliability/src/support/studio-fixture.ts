import { createTestDatabase, type TestDatabase } from "@studio/test-postgres";
import { expect } from "vitest";
import { type StudioProcess, startStudio } from "../../../../apps/studio/test/studio-process.ts";
import { describeRun, directArgs, runCli } from "./cli.ts";
import { catalog, trackingFingerprint } from "./database.ts";

/** What a refused request must leave exactly as it was. */
export interface DatabaseState {
  fingerprint: string;
  catalog: string[];
}

export async function databaseState(url: string): Promise<DatabaseState> {
  return { fingerprint: await trackingFingerprint(url), catalog: await catalog(url) };
}

export interface StudioFixture {
  database: TestDatabase;
  studio: StudioProcess;
  stop(): Promise<void>;
}

/**
 * A fresh database with the migrations of `dir` applied up to `appliedUpTo` (so both apply and
 * rollback have work), and one production Studio serving it with `secret`.
 */
export async function startStudioFixture(options: {
  label: string;
  dir: string;
  secret: string;
  appliedUpTo: string;
  /** More of Studio's environment (e.g. `STUDIO_TRUSTED_PROXIES`). */
  env?: Record<string, string>;
}): Promise<StudioFixture> {
  const database = await createTestDatabase(options.label);
  try {
    const run = await runCli(
      directArgs(["apply", "--to", options.appliedUpTo], database.url, options.dir),
    );
    expect(run.code, describeRun(run)).toBe(0);
    const studio = await startStudio({
      DATABASE_URL: database.url,
      MIGRATION_SECRET: options.secret,
      MIGRATIONS_DIR: options.dir,
      ...options.env,
    });
    return {
      database,
      studio,
      async stop() {
        await studio.stop();
        await database.drop();
      },
    };
  } catch (error) {
    await database.drop();
    throw error;
  }
}
