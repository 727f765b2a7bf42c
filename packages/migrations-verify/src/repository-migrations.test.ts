import { fileURLToPath } from "node:url";
import { directorySource, type Migration } from "@studio/migrations-core";
import { createTestDatabase } from "@studio/test-postgres";
import pg from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { type VerifyReport, verifyMigrations } from "./index.ts";

/**
 * The project's CI gate on its own migrations (SPEC §9 *Verify*): every down section in
 * migrations/ restores exactly what its up changed. `npm test` runs this file; a down that stops
 * being an exact inverse fails the build, naming what it leaves behind.
 */
const MIGRATIONS_DIR = fileURLToPath(new URL("../../../migrations/", import.meta.url));

let migrations: Migration[];
beforeAll(async () => {
  const loaded = await directorySource(MIGRATIONS_DIR).load();
  expect(loaded.problems).toEqual([]);
  migrations = [...loaded.migrations];
});

function expectClean(report: VerifyReport): void {
  expect(report.results.map((r) => [r.migrationName, r.result])).toEqual(
    migrations.map((m) => [
      m.name,
      m.name === "000_platform_migrations_tracking" ? "irreversible" : "inverse",
    ]),
  );
  for (const result of report.results) {
    expect(result.downDifferences, result.migrationName).toEqual([]);
    expect(result.secondUpDifferences, result.migrationName).toEqual([]);
  }
  expect(report.ok).toBe(true);
}

describe("CI gate: every down section in the repository's migrations/ is an exact inverse", () => {
  it("on an in-memory PGlite, verify's default scratch database", async () => {
    expect(migrations.map((m) => m.name)).toContain("008_add_active_org_tracking");

    const report = await verifyMigrations({ migrations });

    expect(report.scratch).toBe("an in-memory PGlite database");
    expectClean(report);
  }, 300_000);

  it("on PostgreSQL, in a throwaway database", async () => {
    const database = await createTestDatabase("verify_repo");
    try {
      const report = await verifyMigrations({ migrations, scratch: { url: database.url } });

      expectClean(report);
      // Verify ran there: the schema is the one the last up made, its column included.
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const { rows } = await client.query(
          `select count(*)::int as n from information_schema.columns
            where table_schema = 'platform' and table_name = 'users' and column_name = 'active_org_id'`,
        );
        expect(rows).toEqual([{ n: 1 }]);
      } finally {
        await client.end();
      }
    } finally {
      await database.drop();
    }
  }, 300_000);
});
