import { loadMigrationTexts, type MigrationText } from "@studio/migrations-core";
import {
  createMemoryDatabase,
  type InjectedFailure,
  MemoryExecutor,
} from "@studio/migrations-core/testing";
import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { describe, expect, it } from "vitest";
import { migrationErrorData } from "./errors.ts";
import { createMigrationsRouter } from "./router.ts";
import { createCallerFactory } from "./trpc.ts";

// `migrations.rollback` with `to` / `steps`, and `migrations.adopt`, through `createCaller`: each
// test asserts what the in-memory database holds afterwards.

const table = (n: string, down = true): MigrationText => ({
  name: n,
  sql: `-- migrate:up\nCREATE TABLE t_${n.slice(4)} (id int);\n${down ? `-- migrate:down\nDROP TABLE t_${n.slice(4)};\n` : ""}`,
});

function setup(texts: MigrationText[], failures: InjectedFailure[] = []) {
  const database = createMemoryDatabase();
  const executor = new MemoryExecutor({ database, failures });
  const disk = [...texts];
  const router = createMigrationsRouter({
    executor,
    source: { load: async () => loadMigrationTexts(disk) },
    lockTimeoutMs: 100,
    authorize: ({ actor, procedure }) => actor !== "no-adopt" || procedure !== "adopt",
  });
  const caller = (actor = "ops") => {
    const { migrations } = createCallerFactory(router)({ actor });
    return {
      apply: (input: Parameters<typeof migrations.apply>[0]) =>
        migrations.apply.call(undefined, input),
      rollback: migrations.rollback,
      adopt: migrations.adopt,
    };
  };
  const statuses = () =>
    Object.fromEntries([...database.records.values()].map((r) => [r.migrationName, r.status]));
  return { caller, database, disk, statuses };
}

async function rejection(promise: Promise<unknown>): Promise<TRPCError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCError) return error;
    throw error;
  }
  throw new Error("expected a rejection");
}

async function statusOf(promise: Promise<unknown>): Promise<number> {
  return getHTTPStatusCodeFromError(await rejection(promise));
}

const FOUR = [table("001_a"), table("002_b"), table("003_c"), table("004_d")];

describe("migrations.rollback with to / steps", () => {
  it("rolls back everything applied after `to`, newest first, and reports each step", async () => {
    const { caller, statuses, database } = setup(FOUR);
    await caller().apply({});

    const report = await caller("undoer").rollback({ to: "002_b" });

    expect(report).toMatchObject({ to: "002_b", steps: null, failed: null });
    expect("results" in report && report.results.map((r) => [r.migrationName, r.status])).toEqual([
      ["004_d", "rolled_back"],
      ["003_c", "rolled_back"],
    ]);
    expect(statuses()).toEqual({
      "001_a": "applied",
      "002_b": "applied",
      "003_c": "rolled_back",
      "004_d": "rolled_back",
    });
    expect(database.records.get("004_d")?.rolledBackBy).toBe("undoer");
  });

  it("rolls back the newest `steps`, dry-runs with every step's SQL, and keeps the single form", async () => {
    const { caller, statuses } = setup(FOUR);
    await caller().apply({});

    const plan = await caller().rollback({ steps: 2, dryRun: true });
    expect("results" in plan && plan.results.map((r) => [r.migrationName, r.sql])).toEqual([
      ["004_d", "DROP TABLE t_d;\n"],
      ["003_c", "DROP TABLE t_c;\n"],
    ]);
    expect(Object.values(statuses())).toEqual(["applied", "applied", "applied", "applied"]);

    await caller().rollback({ steps: 2 });
    expect(statuses()).toMatchObject({ "003_c": "rolled_back", "004_d": "rolled_back" });

    // The single-migration form answers as before.
    expect(await caller().rollback({ migrationName: "002_b" })).toMatchObject({
      migrationName: "002_b",
      status: "rolled_back",
    });
  });

  it("refuses anything but exactly one of migrationName, to and steps with 400, touching nothing", async () => {
    const { caller, database } = setup(FOUR);
    await caller().apply({});
    const events = database.events.length;
    const inputs: unknown[] = [
      {},
      { dryRun: true },
      { migrationName: "004_d", to: "001_a" },
      { to: "001_a", steps: 1 },
      { steps: 0 },
      { steps: -2 },
      { steps: 1.5 },
      { steps: "2" },
      { to: "../etc/passwd" },
      { to: "001_a", migration_name: "001_a" },
      { to: "001_a", force: true },
    ];
    for (const input of inputs) {
      expect(
        // biome-ignore lint/suspicious/noExplicitAny: deliberately bypassing the input type
        [input, await statusOf(caller().rollback(input as any))],
      ).toEqual([input, 400]);
    }
    const none = await rejection(caller().rollback({}));
    expect(none.message).toContain("give exactly one of migrationName");
    expect(database.events).toHaveLength(events);
  });

  it("maps the run's refusals to SPEC §5 statuses, naming the migration, before anything runs", async () => {
    const { caller, disk, database } = setup([
      table("001_a"),
      table("002_b", false),
      table("003_c"),
    ]);
    await caller().apply({ upTo: "002_b" });
    const events = database.events.length;

    expect(await statusOf(caller().rollback({ to: "009_zz" }))).toBe(404);
    expect(await statusOf(caller().rollback({ to: "003_c" }))).toBe(409); // not applied
    expect(await statusOf(caller().rollback({ steps: 3 }))).toBe(409); // only 2 applied
    const noDown = await rejection(caller().rollback({ to: "001_a" }));
    expect(getHTTPStatusCodeFromError(noDown)).toBe(412);
    expect(migrationErrorData(noDown)).toMatchObject({
      code: "NO_DOWN_MIGRATION",
      migrationName: "002_b",
    });
    expect(noDown.message).toContain("nothing was rolled back");

    disk[0] = { name: "001_a", sql: "-- migrate:up\nCREATE TABLE t_a (id bigint);\n" };
    const drift = await rejection(caller().rollback({ steps: 2, markOnly: true }));
    expect(getHTTPStatusCodeFromError(drift)).toBe(409);
    expect(migrationErrorData(drift)?.code).toBe("CHECKSUM_DRIFT");
    expect(database.events).toHaveLength(events);
  });

  it("turns a failed step into 422 carrying the migration, the Postgres message and every step", async () => {
    const { caller, statuses } = setup(FOUR, [
      {
        migrationName: "003_c",
        action: "rollback",
        error: { message: "cannot drop", code: "2BP01" },
      },
    ]);
    await caller().apply({});

    const error = await rejection(caller().rollback({ to: "001_a" }));

    expect(getHTTPStatusCodeFromError(error)).toBe(422);
    expect(migrationErrorData(error)).toMatchObject({
      code: "MIGRATION_FAILED",
      migrationName: "003_c",
      failure: { message: "cannot drop", code: "2BP01" },
      results: [
        { migrationName: "004_d", status: "rolled_back" },
        { migrationName: "003_c", status: "failed" },
        { migrationName: "002_b", status: "skipped" },
      ],
    });
    expect(statuses()).toEqual({
      "001_a": "applied",
      "002_b": "applied",
      "003_c": "applied",
      "004_d": "rolled_back",
    });
  });
});

describe("migrations.adopt", () => {
  it("adopts the versions dbmate recorded that match local files, with the caller as actor", async () => {
    const { caller, database, statuses } = setup(FOUR);
    database.foreignTables.set("public.schema_migrations", ["1", "2", "77"]);

    const report = await caller("mover").adopt({ from: "dbmate" });

    expect(report).toEqual({
      from: "dbmate",
      table: "public.schema_migrations",
      results: [
        { version: "1", migrationName: "001_a", status: "adopted" },
        { version: "2", migrationName: "002_b", status: "adopted" },
        { version: "77", migrationName: null, status: "no_local_file" },
      ],
    });
    expect(statuses()).toEqual({ "001_a": "applied", "002_b": "applied" });
    expect(database.events.map((e) => [e.action, e.actor, e.errorMessage])).toEqual([
      ["baseline", "mover", "adopted from dbmate (public.schema_migrations, version 1)"],
      ["baseline", "mover", "adopted from dbmate (public.schema_migrations, version 2)"],
    ]);
    expect(database.executed).toEqual([]);
  });

  it("reads the Supabase CLI's table, or the one named in table", async () => {
    const { caller, database, statuses } = setup(FOUR);
    database.foreignTables.set("supabase_migrations.schema_migrations", ["003"]);
    database.foreignTables.set("legacy.versions", ["4"]);

    expect((await caller().adopt({ from: "supabase" })).table).toBe(
      "supabase_migrations.schema_migrations",
    );
    expect((await caller().adopt({ from: "dbmate", table: "legacy.versions" })).table).toBe(
      "legacy.versions",
    );
    expect(statuses()).toEqual({ "003_c": "applied", "004_d": "applied" });
  });

  it("answers 400 for bad input, 404 for a missing table, 403 when not authorized — recording nothing", async () => {
    const { caller, database } = setup(FOUR);
    for (const input of [
      {},
      { from: "flyway" },
      { from: "dbmate", table: "x; drop table y" },
      { from: "dbmate", table: '"quoted"' },
      { from: "dbmate", table: "a.b.c" },
      { from: "dbmate", extra: 1 },
    ]) {
      // biome-ignore lint/suspicious/noExplicitAny: deliberately bypassing the input type
      expect([input, await statusOf(caller().adopt(input as any))]).toEqual([input, 400]);
    }
    const missing = await rejection(caller().adopt({ from: "dbmate" }));
    expect(getHTTPStatusCodeFromError(missing)).toBe(404);
    expect(missing.message).toBe(
      "There is no dbmate table public.schema_migrations in this database.",
    );
    expect(migrationErrorData(missing)).toMatchObject({ code: "FOREIGN_HISTORY_NOT_FOUND" });
    database.foreignTables.set("public.schema_migrations", ["1"]);
    expect(await statusOf(caller("no-adopt").adopt({ from: "dbmate" }))).toBe(403);
    expect(database.records.size).toBe(0);
    expect(database.events).toEqual([]);
  });
});
