import { promises as fsPromises } from "node:fs";
import path from "node:path";
import { Kysely, PostgresDialect } from "kysely";
import { FileMigrationProvider, Migrator } from "kysely/migration";
import pg from "pg";

/** Kysely's `Migrator` with `FileMigrationProvider`: one transaction for all (its default) or none. */
export async function applyKysely(url: string, dir: string, perMigration: boolean) {
  const db = new Kysely<Record<string, never>>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }),
  });
  try {
    const migrator = new Migrator({
      db,
      provider: new FileMigrationProvider({ fs: fsPromises, path, migrationFolder: dir }),
      // Without Kysely's transaction, each migration's SQL is one simple-protocol query, which
      // PostgreSQL runs as one implicit transaction: a transaction per migration.
      disableTransactions: perMigration,
    });
    const { error, results } = await migrator.migrateToLatest();
    if (error) throw error instanceof Error ? error : new Error(String(error));
    if (results?.some((r) => r.status !== "Success")) throw new Error("kysely: a migration failed");
  } finally {
    await db.destroy();
  }
}
