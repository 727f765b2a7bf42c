import {
  type Executor,
  type LinterLoader,
  loadMigrationTexts,
  type MigrationText,
} from "@studio/migrations-core";
import { createMemoryDatabase, MemoryExecutor } from "@studio/migrations-core/testing";
import { loadLinter } from "@studio/migrations-lint";
import { createPostgresExecutor } from "@studio/migrations-postgres";
import { createTestDatabase, type TestDatabase } from "@studio/test-postgres";
import { TRPCClientError } from "@trpc/client";
import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMigrationsClient } from "./client.ts";
import type { MigrationErrorData } from "./errors.ts";
import { createMigrationsRouter, type MigrationsRouterOptions } from "./router.ts";
import { type MigrationsHttpServer, startMigrationsHttpServer } from "./testing/index.ts";
import { createCallerFactory } from "./trpc.ts";

const linter: LinterLoader = loadLinter;

const users: MigrationText = {
  name: "001_users",
  sql: "-- migrate:up\nCREATE TABLE platform.users (id int primary key, email text);\n-- migrate:down\nDROP TABLE platform.users;\n",
};
/** An index built without CONCURRENTLY on a table that exists: an error-level finding. */
const indexUsers: MigrationText = {
  name: "002_index_users",
  sql: "-- migrate:up\n-- the emails, looked up at sign-in\nCREATE INDEX users_email ON platform.users (email);\n-- migrate:down\nDROP INDEX platform.users_email;\n",
};
const notes: MigrationText = {
  name: "003_notes",
  sql: "-- migrate:up\nCREATE TABLE platform.notes (id int);\n-- migrate:down\nDROP TABLE platform.notes;\n",
};

function callerOf(options: MigrationsRouterOptions, actor: string | null = "ops") {
  const { migrations } = createCallerFactory(createMigrationsRouter(options))({ actor });
  return {
    list: migrations.list,
    lint: migrations.lint,
    rehearse: migrations.rehearse,
    apply: (input: Parameters<typeof migrations.apply>[0]) =>
      migrations.apply.call(undefined, input),
  };
}

async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCError) return getHTTPStatusCodeFromError(error);
    throw error;
  }
  throw new Error("expected a rejection");
}

function memorySetup(texts: MigrationText[], withLinter = true) {
  const database = createMemoryDatabase();
  const executor = new MemoryExecutor({ database });
  const options: MigrationsRouterOptions = {
    executor,
    source: { load: async () => loadMigrationTexts(texts) },
    lockTimeoutMs: 100,
    ...(withLinter ? { linter } : {}),
    authorize: ({ actor, procedure }) => actor !== "read-only" || procedure === "lint",
  };
  return { database, options, caller: (actor?: string | null) => callerOf(options, actor) };
}

describe("migrations.lint and migrations.rehearse over the memory executor", () => {
  it("lints the pending migrations with PostgreSQL's parser and the toy schema's sizes", async () => {
    const { caller } = memorySetup([users, indexUsers, notes]);
    await caller().apply({ upTo: "001_users" });

    const report = await caller().lint();

    expect(report.migrations).toEqual(["002_index_users", "003_notes"]);
    expect(report.live).toBe(true);
    expect(report.errors).toBe(1);
    expect(report.findings[0]).toMatchObject({
      rule: "index-not-concurrent",
      level: "error",
      migration: "002_index_users",
      line: 3,
      lock: "SHARE",
      relation: "platform.users",
      size: { exists: true, relation: "platform.users" },
    });
  });

  it("lints the named migrations only", async () => {
    const { caller } = memorySetup([users, indexUsers, notes]);
    const report = await caller().lint({ migrationNames: ["003_notes"] });
    expect(report.migrations).toEqual(["003_notes"]);
    expect(report.findings).toEqual([]);
  });

  it("refuses malformed input with 400, before reading anything", async () => {
    const { caller } = memorySetup([users]);
    expect(await statusOf(caller().lint({ migrationNames: ["../x"] }))).toBe(400);
    expect(await statusOf(caller().lint({ migrationNames: [] }))).toBe(400);
    expect(await statusOf(caller().lint({ names: ["001_users"] } as never))).toBe(400);
    expect(await statusOf(caller().rehearse({ to: "001_users" } as never))).toBe(400);
    expect(await statusOf(caller().rehearse({ upTo: "001 users" }))).toBe(400);
    expect(await statusOf(caller().rehearse({ statementTimeoutMs: 0 }))).toBe(400);
    expect(await statusOf(caller().lint({ migrationNames: ["009_nope"] }))).toBe(404);
  });

  it("is authorized like the other procedures", async () => {
    const { caller } = memorySetup([users]);
    expect(await statusOf(caller(null).lint())).toBe(401);
    expect(await statusOf(caller(null).rehearse())).toBe(401);
    expect(await statusOf(caller("read-only").rehearse())).toBe(403);
    expect((await caller("read-only").lint()).migrations).toEqual(["001_users"]);
  });

  it("rehearses what an apply would run, and records nothing", async () => {
    const { caller, database } = memorySetup([users, notes]);
    const report = await caller().rehearse({ upTo: "001_users" });
    expect(report.results.map((r) => [r.migrationName, r.status])).toEqual([
      ["001_users", "rehearsed"],
    ]);
    expect(report.results[0]?.statements[0]?.locks).toEqual([
      { relation: "platform.users", kind: "table", mode: "ACCESS EXCLUSIVE" },
    ]);
    expect(database.records.size).toBe(0);
    expect(database.events).toEqual([]);
    expect(database.tables.size).toBe(0);
  });

  it("answers 501 for lint and strict applies when the server has no linter", async () => {
    const { caller } = memorySetup([users], false);
    expect(await statusOf(caller().lint())).toBe(501);
    expect(await statusOf(caller().apply({ strict: true }))).toBe(501);
  });
});

describe("a strict apply over HTTP", () => {
  let server: MigrationsHttpServer;
  const { options, database } = memorySetup([users, indexUsers]);

  beforeAll(async () => {
    server = await startMigrationsHttpServer({ ...options, secret: "s".repeat(32) });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("is refused with 412 before anything runs, the findings in data.migration.lint", async () => {
    const client = createMigrationsClient({ url: server.url, secret: "s".repeat(32) });
    // The table exists before the index is built on it (one created in the same run is new).
    await client.apply.mutate({ upTo: "001_users" });
    const refused = await client.apply.mutate({ strict: true }).catch((error: unknown) => error);

    expect(refused).toBeInstanceOf(TRPCClientError);
    const data = (refused as TRPCClientError<never>).data as unknown as {
      httpStatus: number;
      migration: MigrationErrorData;
    };
    expect(data.httpStatus).toBe(412);
    expect(data.migration.code).toBe("LINT_REFUSED");
    expect(data.migration.hint).toMatch(/lint:ignore/);
    expect(data.migration.lint?.errors).toBe(1);
    expect(data.migration.lint?.findings[0]).toMatchObject({
      rule: "index-not-concurrent",
      migration: "002_index_users",
      line: 3,
    });
    expect([...database.records.keys()]).toEqual(["001_users"]);
    expect(database.executed).toEqual([
      "CREATE TABLE platform.users (id int primary key, email text)",
    ]);

    // Without strict, the same apply runs.
    const applied = await client.apply.mutate({});
    expect(applied.results.map((r) => [r.migrationName, r.status])).toEqual([
      ["002_index_users", "applied"],
    ]);
  });
});

describe("migrations.lint and migrations.rehearse on PostgreSQL", () => {
  const ROWS = 5_000;
  let database: TestDatabase;
  let executor: Executor;
  let side: pg.Client;
  const texts = [
    {
      name: "001_users",
      sql: `-- migrate:up\ncreate schema if not exists platform;\ncreate table platform.users (id int primary key, email text not null);\ninsert into platform.users select g, 'user' || g || '@example.com' from generate_series(1, ${ROWS}) g;\n`,
    },
    indexUsers,
    {
      name: "003_nickname",
      sql: "-- migrate:up\nalter table platform.users add column nickname text;\n-- migrate:down\nalter table platform.users drop column nickname;\n",
    },
  ];
  const caller = () =>
    callerOf({
      executor,
      source: { load: async () => loadMigrationTexts(texts) },
      linter,
    });

  beforeAll(async () => {
    database = await createTestDatabase("trpc_lint");
    executor = createPostgresExecutor({ connection: database.url });
    side = new pg.Client({ connectionString: database.url });
    await side.connect();
    await caller().apply({ upTo: "001_users" });
    await side.query("analyze platform.users");
  });
  afterAll(async () => {
    await side?.end();
    await executor?.close();
    await database?.drop();
  });

  const schema = async () =>
    (
      await side.query(
        "select table_name, column_name, data_type from information_schema.columns where table_schema = 'platform' order by 1, 2",
      )
    ).rows;

  it("lints with the table's live size: rows and bytes from the catalog", async () => {
    const report = await caller().lint();

    expect(report.live).toBe(true);
    const finding = report.findings.find((f) => f.rule === "index-not-concurrent");
    expect(finding).toMatchObject({
      migration: "002_index_users",
      line: 3,
      relation: "platform.users",
      size: { exists: true, estimatedRows: ROWS, kind: "table" },
    });
    const {
      rows: [catalog],
    } = await side.query<{ bytes: string }>(
      "select pg_total_relation_size('platform.users')::text as bytes",
    );
    expect(finding?.size?.totalBytes).toBe(Number(catalog?.bytes));
    expect(finding?.message).toContain("platform.users (≈5 k rows,");
  });

  it("rehearses on the database, with each statement's locks, and leaves it as it was", async () => {
    const before = await schema();
    const report = await caller().rehearse();

    expect(report.failed).toBeNull();
    expect(report.results.map((r) => [r.migrationName, r.status])).toEqual([
      ["002_index_users", "rehearsed"],
      ["003_nickname", "rehearsed"],
    ]);
    expect(report.results[0]?.statements[0]?.locks).toEqual(
      expect.arrayContaining([
        { relation: "platform.users", kind: "table", mode: "SHARE" },
        { relation: "platform.users_email", kind: "index", mode: "ACCESS EXCLUSIVE" },
      ]),
    );
    expect(report.results[1]?.statements[0]?.locks).toEqual([
      { relation: "platform.users", kind: "table", mode: "ACCESS EXCLUSIVE" },
    ]);
    expect(await schema()).toEqual(before);
    expect((await caller().list()).pending.map((m) => m.name)).toEqual([
      "002_index_users",
      "003_nickname",
    ]);
    const { rows } = await side.query(
      "select count(*)::int as events from platform.schema_migration_events",
    );
    expect(rows).toEqual([{ events: 1 }]);
  });

  it("refuses a strict apply over the unsafe index (412), applying nothing", async () => {
    const before = await schema();
    expect(await statusOf(caller().apply({ strict: true }))).toBe(412);
    expect((await caller().list()).pending).toHaveLength(2);
    expect(await schema()).toEqual(before);
  });
});
