import { createMigrationEngine, directorySource } from "@studio/migrations-core";
import { createPgMetaExecutor } from "@studio/migrations-postgres";
import {
  createTestDatabase,
  type PgMetaServer,
  startPgMeta,
  type TestDatabase,
} from "@studio/test-postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeRun, directArgs, runCli } from "./support/cli.ts";
import { APPLIERS, ROUNDS } from "./support/config.ts";
import { catalog, exactlyOnceViolations, resetDatabase } from "./support/database.ts";
import {
  type MigrationFile,
  migrationSet,
  removeAllDirs,
  removeDir,
  writeMigrationsDir,
} from "./support/migrations.ts";
import { Figures } from "./support/summary.ts";

const figures = new Figures("appliers through postgres-meta (per-unit locking)");

let database: TestDatabase;
let meta: PgMetaServer;

beforeAll(async () => {
  database = await createTestDatabase("pg_meta_race");
  meta = await startPgMeta(database.url);
});
afterAll(async () => {
  figures.print();
  await meta?.stop();
  await database?.drop();
  removeAllDirs();
});

async function serialCatalog(files: MigrationFile[]): Promise<string[]> {
  const reference = await createTestDatabase("pg_meta_serial");
  const dir = writeMigrationsDir(files);
  try {
    const run = await runCli(directArgs(["apply"], reference.url, dir));
    expect(run.code, describeRun(run)).toBe(0);
    return await catalog(reference.url);
  } finally {
    await reference.drop();
    removeDir(dir);
  }
}

/**
 * `APPLIERS` engines, each with its own postgres-meta executor — Studio replicas configured with
 * PG_META_URL — apply everything at once. postgres-meta cannot hold a run lock across requests,
 * so each migration must be made exclusive on its own.
 */
async function race(files: MigrationFile[], serial: string[], label: string): Promise<void> {
  for (let round = 1; round <= ROUNDS; round++) {
    await resetDatabase(database.url);
    const dir = writeMigrationsDir(
      files.map((f) => ({ ...f, text: `-- ${label} ${round}\n${f.text}` })),
    );
    try {
      // No applier is refused: one waiting on another's claim of a transaction:false migration
      // (its started row) waits, as on a run lock, and finds it applied.
      const reports = await Promise.all(
        Array.from({ length: APPLIERS }, (_, i) =>
          createMigrationEngine({
            executor: createPgMetaExecutor({ url: meta.url }),
            source: directorySource(dir),
          }).apply({ actor: `${label}-r${round}-a${i}` }),
        ),
      );
      const applied: Record<string, number> = {};
      for (const report of reports) {
        expect(report.failed, `round ${round}: ${report.failed?.error?.message}`).toBeNull();
        for (const step of report.results) {
          expect(["applied", "already_applied"]).toContain(step.status);
          if (step.status === "applied")
            applied[step.migrationName] = (applied[step.migrationName] ?? 0) + 1;
        }
      }
      expect(applied, `round ${round}`).toEqual(Object.fromEntries(files.map((f) => [f.name, 1])));
      const renamed = files.map((f) => ({ ...f, text: `-- ${label} ${round}\n${f.text}` }));
      expect(await exactlyOnceViolations(database.url, renamed), `round ${round}`).toEqual([]);
      expect(await catalog(database.url), `round ${round}`).toEqual(serial);
      figures.add(`${label} rounds`);
      figures.add("appliers", APPLIERS);
    } finally {
      removeDir(dir);
    }
  }
}

describe(`${APPLIERS} appliers racing through one postgres-meta`, () => {
  it("apply transactional migrations exactly once", async () => {
    const files = migrationSet().filter((f) => !f.text.includes("transaction:false"));
    await race(files, await serialCatalog(files), "transactional");
  });

  it("apply a transaction:false migration exactly once, the others waiting for its claim", async () => {
    const files = migrationSet();
    await race(files, await serialCatalog(files), "with-transaction-false");
  });
});
