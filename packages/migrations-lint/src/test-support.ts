import { loadMigrationTexts, type Migration } from "@studio/migrations-core";

// Test fixtures: migrations as the core loads them, from dbmate-format texts.

/** Loads dbmate-format texts named `001_…`, `002_…` in order, failing loudly on a problem. */
export function migrations(...texts: string[]): Migration[] {
  const loaded = loadMigrationTexts(
    texts.map((sql, index) => ({
      name: `${String(index + 1).padStart(3, "0")}_test`,
      sql,
    })),
  );
  if (loaded.problems.length > 0) {
    throw new Error(`test migrations do not load: ${JSON.stringify(loaded.problems)}`);
  }
  return [...loaded.migrations];
}

/** One transactional migration with `up` as its up section (starting on line 2 of the file). */
export function up(sql: string): Migration[] {
  return migrations(`-- migrate:up\n${sql}\n`);
}

/** One `transaction:false` migration with `up` as its up section (starting on line 2). */
export function upOutsideTransaction(sql: string): Migration[] {
  return migrations(`-- migrate:up transaction:false\n${sql}\n`);
}
