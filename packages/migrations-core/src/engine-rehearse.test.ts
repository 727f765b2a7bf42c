import { describe, expect, it } from "vitest";
import { createMigrationEngine } from "./engine.ts";
import { LockBusyError, MigrationNotFoundError, UnsupportedError } from "./errors.ts";
import type { Executor } from "./executor.ts";
import { NOT_REHEARSABLE_REASON } from "./rehearse-plan.ts";
import { loadMigrationTexts, type MigrationText } from "./sources.ts";
import { createMemoryDatabase, MemoryExecutor } from "./testing/memory-executor.ts";

const ACTOR = "test:rehearse";

/** An executor with none of the optional capabilities: the memory executor's required methods. */
function requiredOnly(memory: MemoryExecutor, kind: string): Executor {
  return {
    kind,
    lockScope: memory.lockScope,
    readState: () => memory.readState(),
    acquireLock: (options) => memory.acquireLock(options),
    applyMigration: (request) => memory.applyMigration(request),
    rollbackMigration: (request) => memory.rollbackMigration(request),
    recordChanges: (changes, actor) => memory.recordChanges(changes, actor),
    readEvents: (query) => memory.readEvents(query),
    readForeignVersions: (source) => memory.readForeignVersions(source),
    close: () => memory.close(),
  };
}

function setup(texts: MigrationText[], executorOptions: { statementDelayMs?: number } = {}) {
  const database = createMemoryDatabase();
  const executor = new MemoryExecutor({ database, ...executorOptions });
  const engine = createMigrationEngine({
    executor,
    source: { load: async () => loadMigrationTexts(texts) },
    lockTimeoutMs: 100,
  });
  return { engine, database, executor };
}

/** What a rehearsal must leave exactly as it was. */
function snapshot(database: ReturnType<typeof createMemoryDatabase>) {
  return {
    tables: [...database.tables].sort(),
    records: [...database.records.values()].map((record) => ({ ...record })),
    events: database.events.length,
    executed: [...database.executed],
  };
}

const createUsers: MigrationText = {
  name: "001_users",
  sql: "-- migrate:up\n-- the users\nCREATE TABLE platform.users (id int);\n\nALTER TABLE platform.users ADD COLUMN email text;\n-- migrate:down\nDROP TABLE platform.users;\n",
};
const createOrgs: MigrationText = {
  name: "002_orgs",
  sql: "-- migrate:up\nCREATE TABLE platform.orgs (id int);\n-- migrate:down\nDROP TABLE platform.orgs;\n",
};

describe("rehearse", () => {
  it("runs the pending migrations' statements, timed and with their locks, and leaves everything as it was", async () => {
    const { engine, database } = setup([createUsers, createOrgs]);
    const before = snapshot(database);

    const report = await engine.rehearse({ actor: ACTOR });

    expect(report.failed).toBeNull();
    expect(report.results.map((r) => [r.migrationName, r.status])).toEqual([
      ["001_users", "rehearsed"],
      ["002_orgs", "rehearsed"],
    ]);
    const users = report.results[0];
    expect(users?.statements.map((s) => [s.index, s.line, s.statement])).toEqual([
      [0, 3, "CREATE TABLE platform.users (id int)"],
      [1, 5, "ALTER TABLE platform.users ADD COLUMN email text"],
    ]);
    // The ALTER's lock was already held by the CREATE before it: not repeated.
    expect(users?.statements.map((s) => s.locks)).toEqual([
      [{ relation: "platform.users", kind: "table", mode: "ACCESS EXCLUSIVE" }],
      [],
    ]);
    for (const statement of users?.statements ?? []) {
      expect(statement.elapsedMs).toBeGreaterThanOrEqual(0);
      expect(statement.error).toBeNull();
    }
    expect(snapshot(database)).toEqual(before);
    expect((await engine.list()).pending.map((m) => m.name)).toEqual(["001_users", "002_orgs"]);
  });

  it("stops at the first failing statement, reporting it with what ran before it", async () => {
    const { engine, database } = setup([
      createUsers,
      {
        name: "002_again",
        sql: "-- migrate:up\nCREATE TABLE platform.orgs (id int);\nCREATE TABLE platform.users (id int);\nCREATE TABLE platform.never (id int);\n",
      },
      { name: "003_later", sql: "-- migrate:up\nCREATE TABLE platform.later (id int);\n" },
    ]);
    const before = snapshot(database);

    const report = await engine.rehearse({ actor: ACTOR });

    expect(report.results.map((r) => r.status)).toEqual(["rehearsed", "failed", "not_reached"]);
    const again = report.results[1];
    expect(again?.statements.map((s) => s.statement)).toEqual([
      "CREATE TABLE platform.orgs (id int)",
      "CREATE TABLE platform.users (id int)",
    ]);
    expect(report.failed).toMatchObject({
      migrationName: "002_again",
      index: 1,
      line: 3,
      statement: "CREATE TABLE platform.users (id int)",
      error: { code: "42P07", message: 'relation "users" already exists' },
    });
    expect(report.results[2]?.reason).toBe("not run: 002_again failed first");
    expect(snapshot(database)).toEqual(before);
  });

  it("lists a transaction:false migration as not rehearsable and rehearses the others", async () => {
    const { engine } = setup([
      createUsers,
      {
        name: "002_index",
        sql: "-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY users_email ON platform.users (email);\n",
      },
      { name: "003_orgs", sql: createOrgs.sql },
    ]);

    const report = await engine.rehearse({ actor: ACTOR });

    expect(report.results.map((r) => [r.migrationName, r.status, r.transactional])).toEqual([
      ["001_users", "rehearsed", true],
      ["002_index", "not_rehearsable", false],
      ["003_orgs", "rehearsed", true],
    ]);
    expect(report.results[1]?.reason).toBe(NOT_REHEARSABLE_REASON);
    expect(report.results[1]?.statements).toEqual([]);
  });

  it("rehearses up to the named migration only", async () => {
    const { engine } = setup([createUsers, createOrgs]);
    const report = await engine.rehearse({ actor: ACTOR, upTo: "001_users" });
    expect(report.results.map((r) => r.migrationName)).toEqual(["001_users"]);
    await expect(engine.rehearse({ actor: ACTOR, upTo: "009_nope" })).rejects.toBeInstanceOf(
      MigrationNotFoundError,
    );
  });

  it("answers an empty report when nothing is pending", async () => {
    const { engine } = setup([createUsers]);
    await engine.apply({ actor: ACTOR });
    expect(await engine.rehearse({ actor: ACTOR })).toEqual({
      results: [],
      failed: null,
      timeouts: null,
    });
  });

  it("runs under the lock and statement timeouts asked for, reporting a timeout as the failure", async () => {
    const { engine, database } = setup([createUsers], { statementDelayMs: 30 });
    database.tables.add("platform.users");
    database.lockedTables.add("platform.users");
    const waited = await engine.rehearse({
      actor: ACTOR,
      timeouts: { lockTimeoutMs: 20 },
    });
    expect(waited.failed?.error).toMatchObject({ code: "55P03" });
    expect(waited.timeouts).toEqual({ lockTimeoutMs: 20 });
    database.lockedTables.clear();
    database.tables.clear();

    const cut = await engine.rehearse({ actor: ACTOR, timeouts: { statementTimeoutMs: 5 } });
    expect(cut.failed).toMatchObject({ index: 0, error: { code: "57014" } });
    expect(database.tables.size).toBe(0);
  });

  it("waits for the run lock like an apply, and gives up naming its holder", async () => {
    const { engine, executor } = setup([createUsers]);
    const held = await executor.acquireLock({ timeoutMs: 100, holder: "someone else" });
    try {
      await expect(engine.rehearse({ actor: ACTOR })).rejects.toBeInstanceOf(LockBusyError);
    } finally {
      await held.release();
    }
  });

  it("is refused as unsupported by an executor that cannot rehearse", async () => {
    const executor = requiredOnly(new MemoryExecutor(), "legacy");
    const engine = createMigrationEngine({
      executor,
      source: { load: async () => loadMigrationTexts([createUsers]) },
    });
    const refused = engine.rehearse({ actor: ACTOR });
    await expect(refused).rejects.toBeInstanceOf(UnsupportedError);
    await expect(refused).rejects.toThrow(/legacy executor cannot/);
  });
});
