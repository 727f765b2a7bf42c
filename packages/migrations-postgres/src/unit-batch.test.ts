import { Buffer } from "node:buffer";
import { MAX_MIGRATION_NAME_LENGTH, type MigrationToRun } from "@studio/migrations-core";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_TIMEOUTS } from "./sql-failure.ts";
import { type PostgresTarget, postgresTarget } from "./test-targets.ts";
import { applyBatch, rollbackBatch } from "./unit-batch.ts";

// pg_stat_activity shows the first kilobyte of a query (track_activity_query_size): a unit's head
// — timeouts, lock, guards — must leave the migration's own SQL in it, or nobody watching the
// database can see which migration runs (the reliability tests find one by its `pg_sleep(N)`).

const TRACK_ACTIVITY_QUERY_SIZE = 1024;
const CHECKSUM = "a".repeat(64); // a SHA-256, in hex

const migration = (name: string, sql: string): MigrationToRun => ({
  name,
  sql,
  transactional: true,
  checksum: CHECKSUM,
});

describe("a unit's head", () => {
  it.each([
    ["apply", applyBatch],
    ["rollback", rollbackBatch],
  ] as const)("%s: leaves 1 kB room for the SQL even with the longest name", (_, build) => {
    const name = `001_${"x".repeat(MAX_MIGRATION_NAME_LENGTH - 4)}`;
    for (const attempt of [undefined, "0123456789abc"]) {
      const unit = build(migration(name, "select 1;"), "ops", DEFAULT_TIMEOUTS, {
        attempt,
        offset: "begin;\n".length,
      });
      const head = Buffer.byteLength(unit.sql.slice(0, unit.sqlStart), "utf8");
      expect(head + "begin;\n".length).toBeLessThan(TRACK_ACTIVITY_QUERY_SIZE - 64);
    }
  });
});

describe("a unit's batch", () => {
  // Each postgres-meta request is a new backend, which would load PL/pgSQL afresh for a `DO`
  // block: a migration's path must not need it.
  it.each([
    ["apply", applyBatch],
    ["rollback", rollbackBatch],
  ] as const)("%s: runs no PL/pgSQL of its own", (_, build) => {
    for (const attempt of [undefined, "0123456789abc"]) {
      const unit = build(migration("001_x", "select 1;"), "ops", DEFAULT_TIMEOUTS, {
        attempt,
        offset: 0,
      });
      expect(unit.sql).not.toMatch(/\bdo\s+\$/i);
      expect(unit.sql).not.toMatch(/plpgsql/i);
    }
  });
});

describe.each(["pg", "pg-meta"] as const)("a unit seen in pg_stat_activity, over %s", (kind) => {
  let target: PostgresTarget;
  let side: pg.Client;
  beforeAll(async () => {
    target = await postgresTarget(kind);
    side = await target.connect();
  });
  afterAll(() => target?.dispose());

  /** Whether a backend is running a query that shows `text`, as a watcher would look. */
  const seen = async (text: string) =>
    (
      await side.query(
        "select 1 from pg_stat_activity where state = 'active' and pid <> pg_backend_pid() and strpos(query, $1) > 0",
        [text],
      )
    ).rowCount === 1;

  it("shows the migration's SQL, up and down, for a long name", async () => {
    const executor = target.executor();
    const name = `001_${"a_rather_long_migration_name_".repeat(4)}`;
    const up = executor.applyMigration({
      migration: migration(name, "create table watched (id int);\nselect pg_sleep(1.01);\n"),
      actor: "ops",
    });
    await expect.poll(() => seen("pg_sleep(1.01)"), { timeout: 10_000, interval: 50 }).toBe(true);
    expect(await up).toMatchObject({ status: "applied" });
    const down = executor.rollbackMigration({
      migration: migration(name, "drop table watched;\nselect pg_sleep(1.02);\n"),
      actor: "ops",
    });
    await expect.poll(() => seen("pg_sleep(1.02)"), { timeout: 10_000, interval: 50 }).toBe(true);
    expect(await down).toMatchObject({ status: "rolled_back" });
  });
});
