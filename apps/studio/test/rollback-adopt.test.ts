import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase, type TestDatabase } from "@studio/test-postgres";
import pg from "pg";
import superjson from "superjson";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type StudioProcess, startStudio } from "./studio-process.ts";

// `POST /api/platform/migrations/rollback` with `to` / `steps`, and `migrations.adopt` over
// Studio's tRPC endpoint, against a real PostgreSQL through the production build.

const SECRET = "rollback-adopt-test-secret-8c1f4d2a";

const FILES: Record<string, string> = {
  "001_create_widgets.sql":
    "-- migrate:up\ncreate table widgets (id int primary key);\n-- migrate:down\ndrop table widgets;\n",
  "002_create_gadgets.sql":
    "-- migrate:up\ncreate table gadgets (id int primary key);\n-- migrate:down\ndrop table gadgets;\n",
  "003_create_sprockets.sql":
    "-- migrate:up\ncreate table sprockets (id int primary key);\n-- migrate:down\ndrop table sprockets;\n",
  "004_create_cogs.sql":
    "-- migrate:up\ncreate table cogs (id int primary key);\n-- migrate:down\ndrop table cogs;\n",
};

let database: TestDatabase;
let studio: StudioProcess;
let admin: pg.Client;
let migrationsDir: string;

beforeAll(async () => {
  database = await createTestDatabase("studio_rollback_adopt");
  migrationsDir = mkdtempSync(join(tmpdir(), "studio-rollback-adopt-"));
  for (const [name, text] of Object.entries(FILES)) writeFileSync(join(migrationsDir, name), text);
  studio = await startStudio({
    DATABASE_URL: database.url,
    MIGRATION_SECRET: SECRET,
    MIGRATIONS_DIR: migrationsDir,
  });
  admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
});
afterAll(async () => {
  await studio?.stop();
  await admin?.end();
  await database?.drop();
  rmSync(migrationsDir, { recursive: true, force: true });
});

/** Every migration applied (again: what a test rolled back is pending) before each test. */
beforeEach(async () => {
  const apply = await post("/api/platform/migrations/apply", "{}");
  expect(apply.status).toBe(200);
});

/** As the deploy scripts send it: `curl -d` labels the JSON body as form data. */
function post(path: string, body: string, to: StudioProcess = studio) {
  return fetch(`${to.url}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-migration-secret": SECRET,
      "x-migration-actor": "rest-test",
    },
    body,
  });
}

async function statuses(client: pg.Client = admin): Promise<Record<string, string>> {
  const { rows } = await client.query<{ migration_name: string; status: string }>(
    "select migration_name, status from platform.schema_migrations order by 1",
  );
  return Object.fromEntries(rows.map((r) => [r.migration_name, r.status]));
}

async function tableExists(name: string, client: pg.Client = admin): Promise<boolean> {
  const { rows } = await client.query("select to_regclass($1) is not null as ok", [name]);
  return rows[0].ok === true;
}

describe("POST /api/platform/migrations/rollback with to / steps", () => {
  it('{"to": …} rolls back everything applied after it, newest first, a result per migration', async () => {
    const response = await post(
      "/api/platform/migrations/rollback",
      '{"to": "002_create_gadgets"}',
    );

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      results: [
        {
          migration_name: "004_create_cogs",
          status: "rolled_back",
          execution_time_ms: expect.any(Number),
          sql: "drop table cogs;\n",
        },
        {
          migration_name: "003_create_sprockets",
          status: "rolled_back",
          execution_time_ms: expect.any(Number),
          sql: "drop table sprockets;\n",
        },
      ],
    });
    expect(await statuses()).toEqual({
      "001_create_widgets": "applied",
      "002_create_gadgets": "applied",
      "003_create_sprockets": "rolled_back",
      "004_create_cogs": "rolled_back",
    });
    expect(await tableExists("public.cogs")).toBe(false);
    expect(await tableExists("public.gadgets")).toBe(true);
    const { rows } = await admin.query(
      "select migration_name, actor from platform.schema_migration_events where action = 'rollback' order by id",
    );
    expect(rows).toEqual([
      { migration_name: "004_create_cogs", actor: "rest-test" },
      { migration_name: "003_create_sprockets", actor: "rest-test" },
    ]);
  });

  it('{"steps": n} rolls back the newest n; with dry_run it returns every step\'s SQL and changes nothing', async () => {
    const plan = await post("/api/platform/migrations/rollback", '{"steps": 3, "dry_run": true}');
    expect(plan.status).toBe(200);
    const planned = (await plan.json()) as {
      dry_run: boolean;
      results: { migration_name: string; status: string; sql: string }[];
    };
    expect(planned.dry_run).toBe(true);
    expect(planned.results.map((r) => [r.migration_name, r.status, r.sql])).toEqual([
      ["004_create_cogs", "would_roll_back", "drop table cogs;\n"],
      ["003_create_sprockets", "would_roll_back", "drop table sprockets;\n"],
      ["002_create_gadgets", "would_roll_back", "drop table gadgets;\n"],
    ]);
    expect(Object.values(await statuses())).toEqual(["applied", "applied", "applied", "applied"]);

    const response = await post("/api/platform/migrations/rollback", '{"steps": 3}');
    expect(response.status).toBe(200);
    expect(await statuses()).toEqual({
      "001_create_widgets": "applied",
      "002_create_gadgets": "rolled_back",
      "003_create_sprockets": "rolled_back",
      "004_create_cogs": "rolled_back",
    });
  });

  it("answers 400 unless exactly one of migration_name, to and steps; 404, 409 and 412 for refusals", async () => {
    const cases: [string, number][] = [
      ["{}", 400],
      ['{"migration_name": "004_create_cogs", "to": "001_create_widgets"}', 400],
      ['{"to": "001_create_widgets", "steps": 1}', 400],
      ['{"steps": 0}', 400],
      ['{"steps": 1.5}', 400],
      ['{"steps": "2"}', 400],
      ['{"to": "001_create_widgets", "force": true}', 400],
      ['{"migrationName": "004_create_cogs"}', 400],
      ['{"to": "../../etc/passwd"}', 400],
      ['{"to": "099_nothing"}', 404],
      ['{"steps": 99}', 409],
    ];
    for (const [body, status] of cases) {
      const response = await post("/api/platform/migrations/rollback", body);
      const text = await response.text();
      expect([body, response.status]).toEqual([body, status]);
      expect(text).not.toMatch(/\n\s+at /);
    }
    const none = await post("/api/platform/migrations/rollback", "{}");
    expect(((await none.json()) as { error: string }).error).toContain(
      "give exactly one of migration_name",
    );
    expect(Object.values(await statuses())).toEqual(["applied", "applied", "applied", "applied"]);

    // A migration of the run without a down section (its up section, so its checksum, as it
    // was): 412, naming it, nothing rolled back.
    writeFileSync(
      join(migrationsDir, "003_create_sprockets.sql"),
      "-- migrate:up\ncreate table sprockets (id int primary key);\n-- migrate:down\n",
    );
    try {
      const response = await post(
        "/api/platform/migrations/rollback",
        '{"to": "001_create_widgets"}',
      );
      expect(response.status).toBe(412);
      expect(await response.json()).toMatchObject({
        code: "NO_DOWN_MIGRATION",
        migration_name: "003_create_sprockets",
      });
      expect(Object.values(await statuses())).toEqual(["applied", "applied", "applied", "applied"]);
      // Single rollback's contract is unchanged.
      const single = await post(
        "/api/platform/migrations/rollback",
        '{"migration_name": "004_create_cogs"}',
      );
      expect(single.status).toBe(200);
      expect(await single.json()).toMatchObject({
        migration_name: "004_create_cogs",
        status: "rolled_back",
      });
    } finally {
      writeFileSync(
        join(migrationsDir, "003_create_sprockets.sql"),
        FILES["003_create_sprockets.sql"] as string,
      );
    }
  });

  it("answers 422 naming the failed migration, with the Postgres message and every step", async () => {
    writeFileSync(
      join(migrationsDir, "003_create_sprockets.sql"),
      "-- migrate:up\ncreate table sprockets (id int primary key);\n-- migrate:down\ndrop table nope;\n",
    );
    // The file's up section is unchanged, so this is not drift.
    try {
      const response = await post(
        "/api/platform/migrations/rollback",
        '{"to": "001_create_widgets"}',
      );
      expect(response.status).toBe(422);
      expect(await response.json()).toMatchObject({
        code: "MIGRATION_FAILED",
        migration_name: "003_create_sprockets",
        postgres_error: { code: "42P01", message: 'table "nope" does not exist' },
        results: [
          { migration_name: "004_create_cogs", status: "rolled_back" },
          { migration_name: "003_create_sprockets", status: "failed" },
          { migration_name: "002_create_gadgets", status: "skipped" },
        ],
      });
      expect(await statuses()).toEqual({
        "001_create_widgets": "applied",
        "002_create_gadgets": "applied",
        "003_create_sprockets": "applied",
        "004_create_cogs": "rolled_back",
      });
    } finally {
      writeFileSync(
        join(migrationsDir, "003_create_sprockets.sql"),
        FILES["003_create_sprockets.sql"] as string,
      );
    }
  });
});

describe("tRPC migrations.adopt", () => {
  // A database dbmate migrated: its history and schema, nothing of ours yet.
  let dbmateDatabase: TestDatabase;
  let dbmateStudio: StudioProcess;
  let client: pg.Client;
  beforeAll(async () => {
    dbmateDatabase = await createTestDatabase("studio_adopt");
    client = new pg.Client({ connectionString: dbmateDatabase.url });
    await client.connect();
    await client.query(`create table public.schema_migrations (version varchar(128) primary key);
      insert into public.schema_migrations values ('1'), ('2'), ('7');
      create table widgets (id int primary key); create table gadgets (id int primary key);`);
    dbmateStudio = await startStudio({
      DATABASE_URL: dbmateDatabase.url,
      MIGRATION_SECRET: SECRET,
      MIGRATIONS_DIR: migrationsDir,
    });
  });
  afterAll(async () => {
    await dbmateStudio?.stop();
    await client?.end();
    await dbmateDatabase?.drop();
  });

  function adopt(input: unknown) {
    return fetch(`${dbmateStudio.url}/api/trpc/migrations.adopt`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-migration-secret": SECRET,
        "x-migration-actor": "mover",
      },
      body: JSON.stringify(superjson.serialize(input)),
    });
  }

  it("answers 404 for a missing table and 400 for a bad one, recording nothing", async () => {
    const missing = await adopt({ from: "supabase" });
    expect(missing.status).toBe(404);
    expect(await missing.text()).toContain(
      "There is no supabase table supabase_migrations.schema_migrations in this database.",
    );
    expect((await adopt({ from: "dbmate", table: "x; drop table widgets" })).status).toBe(400);
    expect((await adopt({ from: "liquibase" })).status).toBe(400);
    expect(await tableExists("platform.schema_migrations", client)).toBe(false);
    expect(await tableExists("public.widgets", client)).toBe(true);
  });

  it("records the versions dbmate recorded as applied, without running them", async () => {
    const response = await adopt({ from: "dbmate" });

    expect(response.status).toBe(200);
    const body = (await response.json()) as { result: { data: unknown } };
    expect(superjson.deserialize(body.result.data as never)).toEqual({
      from: "dbmate",
      table: "public.schema_migrations",
      results: [
        { version: "1", migrationName: "001_create_widgets", status: "adopted" },
        { version: "2", migrationName: "002_create_gadgets", status: "adopted" },
        { version: "7", migrationName: null, status: "no_local_file" },
      ],
    });
    expect(await statuses(client)).toEqual({
      "001_create_widgets": "applied",
      "002_create_gadgets": "applied",
    });
    const { rows } = await client.query(
      "select action, actor, error_message from platform.schema_migration_events order by id",
    );
    expect(rows).toEqual([
      {
        action: "baseline",
        actor: "mover",
        error_message: "adopted from dbmate (public.schema_migrations, version 1)",
      },
      {
        action: "baseline",
        actor: "mover",
        error_message: "adopted from dbmate (public.schema_migrations, version 2)",
      },
    ]);
    // Nothing re-ran: apply runs only 003 and 004 (a second `create table widgets` would fail).
    const apply = await post("/api/platform/migrations/apply", "{}", dbmateStudio);
    expect(apply.status).toBe(200);
    expect(
      ((await apply.json()) as { results: { migration_name: string }[] }).results.map(
        (r) => r.migration_name,
      ),
    ).toEqual(["003_create_sprockets", "004_create_cogs"]);
  });
});
