import { runner } from "node-pg-migrate";

/** node-pg-migrate's programmatic runner: one transaction for all (default) or one each. */
export async function applyNodePgMigrate(url: string, dir: string, perMigration: boolean) {
  await runner({
    databaseUrl: url,
    dir,
    direction: "up",
    migrationsTable: "pgmigrations",
    singleTransaction: !perMigration,
    checkOrder: true,
    log: () => {},
  });
}
