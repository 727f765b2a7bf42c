import { fileURLToPath } from "node:url";
import { createMigrationEngine, directorySource, type Executor } from "@studio/migrations-core";
import {
  createPGliteExecutor,
  createPgMetaExecutor,
  createPostgresExecutor,
} from "@studio/migrations-postgres";
import { timeProcess } from "../spawn.ts";
import type { RunTarget, Tool } from "./tool.ts";

const ACTOR = "bench";

/** The `studio-migrate` bin: what a deploy hook runs. */
export const STUDIO_MIGRATE_BIN = fileURLToPath(
  new URL("../../../packages/studio-migrate/bin/studio-migrate.js", import.meta.url),
);

/** Applies every pending migration of `dir` through this engine; throws if one failed. */
export async function applyWithEngine(executor: Executor, dir: string): Promise<void> {
  const engine = createMigrationEngine({ executor, source: directorySource(dir) });
  try {
    const report = await engine.apply({ actor: ACTOR });
    if (report.failed) {
      const error = report.failed.error;
      throw new Error(
        `engine: ${report.failed.migrationName} failed: ${error ? error.message : "unknown"}`,
      );
    }
  } finally {
    await executor.close();
  }
}

/** A `fetch` that counts its requests (for the round-trip suite). */
export interface CountingFetch {
  readonly fetch: typeof fetch;
  readonly count: () => number;
}

export function countingFetch(): CountingFetch {
  let n = 0;
  return {
    fetch: (input, init) => {
      n++;
      return fetch(input, init);
    },
    count: () => n,
  };
}

export function pgMetaExecutor(target: RunTarget, fetchImpl?: typeof fetch): Executor {
  if (!target.pgMetaUrl) throw new Error("no postgres-meta for this run");
  return createPgMetaExecutor({
    url: target.pgMetaUrl,
    ...(fetchImpl === undefined ? {} : { fetch: fetchImpl }),
  });
}

export const engineTools: Tool[] = [
  {
    id: "engine-pg",
    tool: "engine (pg)",
    mode: "in-process",
    target: "pg",
    transactions: "per migration",
    floor: "floor",
    noop: true,
    run: (target, prepared) =>
      applyWithEngine(createPostgresExecutor({ connection: target.url }), prepared.dirs.dbmate),
  },
  {
    id: "engine-cli",
    tool: "engine (studio-migrate CLI, pg)",
    mode: "process",
    target: "pg",
    transactions: "per migration",
    floor: "floor-process",
    noop: true,
    run: async (target, prepared) => {
      await timeProcess(process.execPath, [
        STUDIO_MIGRATE_BIN,
        "apply",
        "--database-url",
        target.url,
        "--migrations-dir",
        prepared.dirs.dbmate,
        "--actor",
        ACTOR,
      ]);
    },
  },
  {
    id: "engine-pg-meta",
    tool: "engine (postgres-meta)",
    mode: "in-process",
    target: "pg-meta",
    transactions: "per migration",
    // Compared with the same SQL sent through postgres-meta with no bookkeeping: what HTTP and
    // postgres-meta's connection per request cost is that floor's, not the engine's.
    floor: "pg-meta-floor",
    noop: true,
    run: (target, prepared) => applyWithEngine(pgMetaExecutor(target), prepared.dirs.dbmate),
  },
  {
    id: "engine-pglite",
    tool: "engine (PGlite)",
    mode: "in-process",
    target: "pglite",
    transactions: "per migration",
    floor: "pglite-floor",
    noop: true,
    run: (target, prepared) => {
      if (!target.pglite) throw new Error("no PGlite for this run");
      return applyWithEngine(createPGliteExecutor({ pglite: target.pglite }), prepared.dirs.dbmate);
    },
  },
];
