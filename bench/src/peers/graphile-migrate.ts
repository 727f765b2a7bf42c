import { writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { Logger, migrate } from "graphile-migrate";

interface PgReal {
  clearAllPools(): void;
}
const { clearAllPools } = createRequire(import.meta.url)(
  "graphile-migrate/dist/pgReal.js",
) as PgReal;

/**
 * graphile-migrate's `migrate`: its committed migrations, a transaction each. It keeps its pool
 * open for 200 ms after use and calls `process.exit(1)` if an idle connection of that pool then
 * errors (as when the run's database is dropped), so its pools are closed before returning.
 */
export async function applyGraphile(url: string, folder: string) {
  try {
    await migrate({
      connectionString: url,
      migrationsFolder: folder,
      logger: new Logger(() => () => {}),
    });
  } finally {
    clearAllPools();
  }
}

/** The `.gmrc` the `graphile-migrate` command reads from its working directory. */
export function writeGmrc(dir: string, url: string, folder: string): string {
  writeFileSync(
    join(dir, ".gmrc"),
    JSON.stringify({ connectionString: url, migrationsFolder: folder }),
  );
  return dir;
}
