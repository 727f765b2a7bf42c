import { mkdirSync } from "node:fs";
import {
  createMigrationEngine,
  directorySource,
  type Executor,
  type MigrationEngine,
} from "@studio/migrations-core";
import {
  createPGliteExecutor,
  createPgMetaExecutor,
  createPostgresExecutor,
} from "@studio/migrations-postgres";
import {
  attemptLogLine,
  createMigrationsRouter,
  type MigrationsRouter,
} from "@studio/migrations-trpc";
import { type DatabaseTarget, studioConfig } from "./config.ts";

export interface StudioMigrations {
  engine: MigrationEngine;
  executor: Executor;
  router: MigrationsRouter;
}

async function createExecutor(target: DatabaseTarget): Promise<Executor> {
  switch (target.kind) {
    case "postgres":
      return createPostgresExecutor({ connection: target.url });
    case "pg-meta":
      return createPgMetaExecutor({ url: target.url });
    case "pglite": {
      mkdirSync(target.dataDir, { recursive: true });
      const { PGlite } = await import("@electric-sql/pglite");
      return createPGliteExecutor({
        pglite: await PGlite.create(target.dataDir),
        closeDatabase: true,
      });
    }
  }
}

async function create(): Promise<StudioMigrations> {
  const config = studioConfig();
  const executor = await createExecutor(config.database);
  const engine = createMigrationEngine({
    executor,
    // Read afresh for every operation: a file added or edited on disk is seen without a restart.
    source: directorySource(config.migrationsDir),
    onAttempt: (attempt) => console.log(attemptLogLine(attempt)),
  });
  return { engine, executor, router: createMigrationsRouter({ engine }) };
}

const store = globalThis as typeof globalThis & { __studioMigrations?: Promise<StudioMigrations> };

/** The engine, its executor and the router: created once per process, on first use. */
export function studioMigrations(): Promise<StudioMigrations> {
  store.__studioMigrations ??= create().catch((error: unknown) => {
    store.__studioMigrations = undefined;
    throw error;
  });
  return store.__studioMigrations;
}
