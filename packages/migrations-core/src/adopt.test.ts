import { describe, expect, it } from "vitest";
import { type AttemptLog, createMigrationEngine } from "./engine.ts";
import {
  ForeignHistoryNotFoundError,
  InvalidInputError,
  LockBusyError,
  MigrationBlockedError,
} from "./errors.ts";
import { loadMigrationTexts, type MigrationText } from "./sources.ts";
import {
  createMemoryDatabase,
  type InjectedFailure,
  MemoryExecutor,
} from "./testing/memory-executor.ts";

// `adopt --from dbmate|supabase` (SPEC §4 Adopt), against the in-memory executor, whose
// `foreignTables` stand for the other tool's history table.

const table = (n: string): MigrationText => ({
  name: n,
  sql: `-- migrate:up\nCREATE TABLE t_${n.replace(/^[0-9]+_/, "")} (id int);\n-- migrate:down\nDROP TABLE t_${n.replace(/^[0-9]+_/, "")};\n`,
});

function setup(texts: MigrationText[], options: { failures?: InjectedFailure[] } = {}) {
  const database = createMemoryDatabase();
  const executor = new MemoryExecutor({ database, failures: options.failures ?? [] });
  const disk = [...texts];
  const attempts: AttemptLog[] = [];
  const engine = createMigrationEngine({
    executor,
    source: { load: async () => loadMigrationTexts(disk) },
    lockTimeoutMs: 100,
    onAttempt: (a) => attempts.push(a),
  });
  const statuses = () =>
    Object.fromEntries([...database.records.values()].map((r) => [r.migrationName, r.status]));
  return { engine, database, executor, disk, attempts, statuses };
}

const FILES = [table("001_a"), table("002_b"), table("003_c"), table("004_d")];

describe("adopt --from dbmate", () => {
  it("records each version that matches a local file by number as applied, without running it, as a baseline event saying where it came from", async () => {
    const { engine, database, statuses, attempts } = setup(FILES);
    // dbmate keeps the version as written in the file name; `1` and `001` are one number.
    database.foreignTables.set("public.schema_migrations", ["002", "1", "099"]);

    const report = await engine.adopt({ from: "dbmate", actor: "migrator" });

    expect(report).toEqual({
      from: "dbmate",
      table: "public.schema_migrations",
      results: [
        { version: "1", migrationName: "001_a", status: "adopted" },
        { version: "002", migrationName: "002_b", status: "adopted" },
        { version: "099", migrationName: null, status: "no_local_file" },
      ],
    });
    expect(statuses()).toEqual({ "001_a": "applied", "002_b": "applied" });
    expect(database.records.get("001_a")).toMatchObject({
      appliedBy: "migrator",
      executionTimeMs: null,
      checksum: loadMigrationTexts([table("001_a")]).migrations[0]?.checksum,
    });
    // Nothing ran: no statement, no table.
    expect(database.executed).toEqual([]);
    expect(database.tables.size).toBe(0);
    expect(
      database.events.map((e) => [e.migrationName, e.action, e.outcome, e.actor, e.errorMessage]),
    ).toEqual([
      [
        "001_a",
        "baseline",
        "succeeded",
        "migrator",
        "adopted from dbmate (public.schema_migrations, version 1)",
      ],
      [
        "002_b",
        "baseline",
        "succeeded",
        "migrator",
        "adopted from dbmate (public.schema_migrations, version 002)",
      ],
    ]);
    expect(attempts.map((a) => [a.migrationName, a.action, a.outcome])).toEqual([
      ["001_a", "baseline", "succeeded"],
      ["002_b", "baseline", "succeeded"],
    ]);
    // The rest apply as usual.
    expect((await engine.apply({ actor: "migrator" })).results.map((r) => r.migrationName)).toEqual(
      ["003_c", "004_d"],
    );
  });

  it("reports versions already applied here, and running it again changes nothing", async () => {
    const { engine, database } = setup(FILES);
    await engine.apply({ upTo: "001_a", actor: "ops" });
    database.foreignTables.set("public.schema_migrations", ["1", "2"]);

    const first = await engine.adopt({ from: "dbmate", actor: "ops" });
    expect(first.results.map((r) => [r.migrationName, r.status])).toEqual([
      ["001_a", "already_applied"],
      ["002_b", "adopted"],
    ]);
    const events = database.events.length;

    const again = await engine.adopt({ from: "dbmate", actor: "ops" });
    expect(again.results.map((r) => r.status)).toEqual(["already_applied", "already_applied"]);
    expect(database.events).toHaveLength(events);
  });

  it("keeps a migration rolled back here: this engine's own record wins", async () => {
    const { engine, database, statuses } = setup(FILES);
    database.foreignTables.set("public.schema_migrations", ["1", "2"]);
    await engine.adopt({ from: "dbmate", actor: "ops" });
    await engine.rollback({ migrationName: "002_b", markOnly: true, actor: "ops" });

    const report = await engine.adopt({ from: "dbmate", actor: "ops" });

    expect(report.results.map((r) => [r.migrationName, r.status])).toEqual([
      ["001_a", "already_applied"],
      ["002_b", "kept_rolled_back"],
    ]);
    expect(statuses()).toEqual({ "001_a": "applied", "002_b": "rolled_back" });
  });

  it("adopts a migration whose transactional attempt here failed (it left nothing behind)", async () => {
    // The operator ran apply before adopting: 001's objects exist, so it failed.
    const { engine, database, statuses } = setup(FILES, {
      failures: [{ migrationName: "001_a", error: { message: 'relation "t_a" already exists' } }],
    });
    expect((await engine.apply({ actor: "ops" })).failed?.migrationName).toBe("001_a");
    database.foreignTables.set("public.schema_migrations", ["1"]);

    const report = await engine.adopt({ from: "dbmate", actor: "ops" });

    expect(report.results).toMatchObject([{ migrationName: "001_a", status: "adopted" }]);
    expect(statuses()).toEqual({ "001_a": "applied" });
    expect((await engine.list()).problems).toEqual([]);
  });

  it("is refused over a migration failed or interrupted outside a transaction, recording nothing", async () => {
    const { engine, database, statuses } = setup(
      [
        table("001_a"),
        {
          name: "002_index",
          sql: "-- migrate:up transaction:false\nCREATE TABLE t_x (id int);\nCREATE INDEX CONCURRENTLY i ON t_x (id);\n",
        },
      ],
      { failures: [{ migrationName: "002_index", statementIndex: 1 }] },
    );
    await engine.apply({ actor: "ops" });
    database.foreignTables.set("public.schema_migrations", ["1", "2"]);
    const events = database.events.length;

    const attempt = engine.adopt({ from: "dbmate", actor: "ops" });

    await expect(attempt).rejects.toBeInstanceOf(MigrationBlockedError);
    await expect(attempt).rejects.toThrow(/002_index \(failed\)/);
    expect(database.events).toHaveLength(events);
    expect(statuses()).toEqual({ "001_a": "applied", "002_index": "failed" });
  });

  it("reads another table with table: unqualified in the current schema, or schema-qualified", async () => {
    const { engine, database, statuses } = setup(FILES);
    database.foreignTables.set("public.migrations_log", ["3"]);
    database.foreignTables.set("legacy.schema_migrations", ["4"]);

    expect(
      await engine.adopt({ from: "dbmate", table: "migrations_log", actor: "ops" }),
    ).toMatchObject({
      table: "public.migrations_log",
      results: [{ migrationName: "003_c", status: "adopted" }],
    });
    expect(
      await engine.adopt({ from: "dbmate", table: "legacy.schema_migrations", actor: "ops" }),
    ).toMatchObject({
      table: "legacy.schema_migrations",
      results: [{ migrationName: "004_d", status: "adopted" }],
    });
    expect(statuses()).toEqual({ "003_c": "applied", "004_d": "applied" });
  });

  it("fails clearly when the table is not there, recording nothing", async () => {
    const { engine, database } = setup(FILES);

    const attempt = engine.adopt({ from: "dbmate", actor: "ops" });

    await expect(attempt).rejects.toBeInstanceOf(ForeignHistoryNotFoundError);
    await expect(attempt).rejects.toThrow(
      "There is no dbmate table public.schema_migrations in this database.",
    );
    expect(database.records.size).toBe(0);
    expect(database.events).toEqual([]);
  });

  it("refuses a table name that is not an identifier, and an unknown tool, before reading anything", async () => {
    const { engine, database } = setup(FILES);
    database.foreignTables.set("public.schema_migrations", ["1"]);
    for (const bad of [
      "schema_migrations; drop table users",
      '"schema_migrations"',
      "a.b.c",
      "1abc",
      "public.",
      "",
      "x".repeat(64),
      "schema migrations",
    ]) {
      await expect(
        engine.adopt({ from: "dbmate", table: bad, actor: "ops" }),
        bad,
      ).rejects.toBeInstanceOf(InvalidInputError);
    }
    await expect(engine.adopt({ from: "flyway" as "dbmate", actor: "ops" })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    expect(database.records.size).toBe(0);
  });

  it("runs under the run lock", async () => {
    const { engine, executor, database } = setup(FILES);
    database.foreignTables.set("public.schema_migrations", ["1"]);
    const held = await executor.acquireLock({ timeoutMs: 10, holder: "another run" });
    try {
      await expect(engine.adopt({ from: "dbmate", actor: "ops" })).rejects.toBeInstanceOf(
        LockBusyError,
      );
    } finally {
      await held.release();
    }
    expect(database.records.size).toBe(0);
  });
});

describe("adopt --from supabase", () => {
  it("reads supabase_migrations.schema_migrations, matching timestamp versions to local files", async () => {
    const { engine, database, statuses } = setup([
      table("20240101120000_create_users"),
      table("20240102120000_create_posts"),
      table("20240103120000_create_likes"),
    ]);
    database.foreignTables.set("supabase_migrations.schema_migrations", [
      "20240101120000",
      "20240102120000",
    ]);

    const report = await engine.adopt({ from: "supabase", actor: "ops" });

    expect(report.table).toBe("supabase_migrations.schema_migrations");
    expect(report.results.map((r) => [r.migrationName, r.status])).toEqual([
      ["20240101120000_create_users", "adopted"],
      ["20240102120000_create_posts", "adopted"],
    ]);
    expect(statuses()).toEqual({
      "20240101120000_create_users": "applied",
      "20240102120000_create_posts": "applied",
    });
    expect(database.events.map((e) => e.errorMessage)).toEqual([
      "adopted from supabase (supabase_migrations.schema_migrations, version 20240101120000)",
      "adopted from supabase (supabase_migrations.schema_migrations, version 20240102120000)",
    ]);
    expect(database.executed).toEqual([]);
  });
});
