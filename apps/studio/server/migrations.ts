import {
  createMigrationEngine,
  directorySource,
  type Executor,
  type MigrationEngine,
} from "@studio/migrations-core";
import {
  createPgMetaExecutor,
  createPostgresExecutor,
  DataDirectoryInUseError,
  openPGliteExecutor,
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
    case "pglite":
      // One process per data directory (SPEC §4): a second Studio on it is refused, naming the
      // first; the lock goes when this process exits.
      try {
        return await openPGliteExecutor({ dataDir: target.dataDir });
      } catch (error) {
        if (error instanceof DataDirectoryInUseError) throw new Error(inUseMessage(error));
        throw error;
      }
  }
}

function inUseMessage({ directory, lockFile, holder, sameHost }: DataDirectoryInUseError): string {
  const who = `process ${holder.pid} on ${holder.host} (since ${holder.startedAt})`;
  return sameHost
    ? `the embedded database in ${directory} is in use by ${who}: stop that Studio first, or set STUDIO_DATA_DIR to another directory.`
    : `the embedded database in ${directory} is in use by ${who}, which cannot be checked from this host: stop that Studio first, or set STUDIO_DATA_DIR to another directory. If that process has stopped (or its host is gone), delete ${lockFile}.`;
}

async function create(): Promise<StudioMigrations> {
  const config = studioConfig();
  const executor = await createExecutor(config.database);
  const engine = createMigrationEngine({
    executor,
    // Read afresh for every operation: a file added or edited on disk is seen without a restart.
    source: directorySource(config.migrationsDir),
    onAttempt: (attempt) => console.log(attemptLogLine(attempt)),
    // SPEC §9 (`migrations.lint`, strict applies): PostgreSQL's parser, as WebAssembly, is loaded
    // on first use, once per process.
    linter: async () => (await import("@studio/migrations-lint")).loadLinter(),
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
