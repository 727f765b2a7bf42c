import { type Executor, type MigrationText, memorySource } from "@studio/migrations-core";
import { createPostgresExecutor } from "@studio/migrations-postgres";
import { createTestDatabase, type TestDatabase } from "@studio/test-postgres";
import { TRPCClientError } from "@trpc/client";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMigrationsClient } from "./client.ts";
import type { MigrationsRouter } from "./router.ts";
import { type MigrationsHttpServer, startMigrationsHttpServer } from "./testing/index.ts";

const SECRET = "test-secret-8c1f";
const texts: MigrationText[] = [
  {
    name: "001_accounts",
    sql: "-- migrate:up\nCREATE TABLE accounts (id int);\n-- migrate:down\nDROP TABLE accounts;\n",
  },
  {
    name: "002_broken",
    sql: "-- migrate:up\nCREATE TABLE broken (id int);\nSELECT * FROM no_such_table;\n",
  },
];

let database: TestDatabase;
let executor: Executor;
let server: MigrationsHttpServer;
let admin: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase("trpc_client");
  executor = createPostgresExecutor({ connection: database.url });
  server = await startMigrationsHttpServer({
    executor,
    source: memorySource(texts),
    secret: SECRET,
  });
  admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
});
afterAll(async () => {
  await server.close();
  await executor.close();
  await admin.end();
  await database.drop();
});

describe("typed client over HTTP against PostgreSQL", () => {
  it("lists and applies, with dates as dates and the actor recorded", async () => {
    const client = createMigrationsClient({
      url: server.url,
      secret: SECRET,
      actor: "cli:alice@laptop",
    });
    const before = await client.list.query();
    expect(before.pending.map((m) => m.name)).toEqual(["001_accounts", "002_broken"]);

    const applied = await client.apply.mutate({ migrationName: "001_accounts" });
    expect(applied.results).toMatchObject([{ migrationName: "001_accounts", status: "applied" }]);
    const after = await client.list.query();
    expect(after.applied[0]?.appliedAt).toBeInstanceOf(Date);
    const { rows } = await admin.query(
      "select applied_by from platform.schema_migrations where migration_name = '001_accounts'",
    );
    expect(rows).toEqual([{ applied_by: "cli:alice@laptop" }]);

    const history = await client.history.query({ limit: 10 });
    expect(history.events[0]).toMatchObject({
      migrationName: "001_accounts",
      actor: "cli:alice@laptop",
    });
    expect(history.events[0]?.at).toBeInstanceOf(Date);
  });

  it("carries a failed migration's name and Postgres message in error.data, with a 422", async () => {
    const client = createMigrationsClient({ url: server.url, secret: SECRET });
    const error = await client.apply.mutate({}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    const data = (error as TRPCClientError<MigrationsRouter>).data;
    expect(data?.httpStatus).toBe(422);
    expect(data?.migration).toMatchObject({
      code: "MIGRATION_FAILED",
      migrationName: "002_broken",
      failure: { code: "42P01", message: 'relation "no_such_table" does not exist' },
    });
    expect(data?.stack).toBeUndefined();
    const { rows } = await admin.query(
      "select status from platform.schema_migrations where migration_name = '002_broken'",
    );
    expect(rows).toEqual([{ status: "failed" }]);
    const tables = await admin.query("select 1 from pg_tables where tablename = 'broken'");
    expect(tables.rowCount).toBe(0);
  });

  it("is refused with 401 for a wrong or missing secret, which never appears in the answer", async () => {
    const wrong = createMigrationsClient({ url: server.url, secret: "not-the-secret" });
    const error = await wrong.list.query().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TRPCClientError);
    expect((error as TRPCClientError<MigrationsRouter>).data?.httpStatus).toBe(401);
    expect(JSON.stringify(error)).not.toContain("not-the-secret");
    expect(JSON.stringify(error)).not.toContain(SECRET);

    const response = await fetch(`${server.url}/api/trpc/migrations.list`);
    expect(response.status).toBe(401);
    expect(await response.text()).not.toContain(SECRET);
  });
});

describe("the HTTP face of /api/trpc/migrations.*", () => {
  const post = (path: string, input: unknown, secret = SECRET) =>
    fetch(`${server.url}/api/trpc/${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-migration-secret": secret },
      body: JSON.stringify({ json: input }),
    });

  it("answers with SPEC §5 statuses and no stack traces", async () => {
    const cases: [string, unknown, number][] = [
      ["migrations.apply", { migration_name: "001_accounts" }, 400],
      ["migrations.apply", { migrationName: "../etc/passwd" }, 400],
      ["migrations.apply", { migrationName: "099_missing" }, 404],
      ["migrations.rollback", { migrationName: "099_missing" }, 404],
      ["migrations.resolve", { migrationName: "001_accounts", as: "accept_checksum" }, 409],
      [
        "migrations.rollback",
        { migrationName: "001_accounts", markOnly: false, dryRun: true },
        200,
      ],
    ];
    for (const [path, input, status] of cases) {
      const response = await post(path, input);
      const body = await response.text();
      expect([path, input, response.status]).toEqual([path, input, status]);
      expect(body).not.toMatch(/at .*\.ts:\d+/);
    }
    expect((await post("migrations.apply", {}, "wrong")).status).toBe(401);
  });

  it("refuses an unknown __proto__ field, which superjson would drop, instead of applying all", async () => {
    const before = await admin.query(
      "select count(*)::int as n from platform.schema_migration_events",
    );
    const response = await fetch(`${server.url}/api/trpc/migrations.apply`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-migration-secret": SECRET },
      body: '{"json":{"__proto__":{"dryRun":false}}}',
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain("__proto__");
    const after = await admin.query(
      "select count(*)::int as n from platform.schema_migration_events",
    );
    expect(after.rows).toEqual(before.rows);
  });
});
