/**
 * A library-only peer as a whole process, the way a user wraps it in a script:
 * `node dist/scripts/peer.js kysely <url> <dir> per-migration|one-transaction` or
 * `node dist/scripts/peer.js postgres-migrations <url> <dir>`. Loads only that library.
 */
const [tool, url, dir, flag] = process.argv.slice(2);
if (!tool || !url || !dir) throw new Error("usage: peer.js <tool> <database url> <dir> [flag]");
if (tool === "kysely") {
  const { applyKysely } = await import("../peers/kysely.ts");
  await applyKysely(url, dir, flag === "per-migration");
} else if (tool === "postgres-migrations") {
  const { applyPostgresMigrations } = await import("../peers/postgres-migrations.ts");
  await applyPostgresMigrations(url, dir);
} else throw new Error(`unknown tool ${tool}`);
