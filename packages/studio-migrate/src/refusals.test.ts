import { randomBytes } from "node:crypto";
import { createTestDatabase, type TestDatabase } from "@studio/test-postgres";
import pg from "pg";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { flat, migration, removeTempDirs, runCli, tableExists, tempDir } from "./testing/cli.ts";

// A database that answers and refuses the CLI's role (issue 12): the privilege is named, with
// what to grant — never "check the URL and that the server is up".

const NOT_AN_OUTAGE = /server is up|reachable from here/i;

const WIDGETS = {
  "001_create_widgets.sql": migration(
    "create table platform.widgets (id int primary key);",
    "drop table platform.widgets;",
  ),
};

let database: TestDatabase;
let admin: pg.Client;
const roles: string[] = [];

beforeEach(async () => {
  database = await createTestDatabase("cli_refusals");
  admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
});
afterEach(async () => {
  await admin.end();
  await database.drop();
  const server = new pg.Client({ connectionString: withDatabase(database.url, "postgres") });
  await server.connect();
  try {
    for (const role of roles.splice(0)) await server.query(`drop role if exists ${role}`);
  } finally {
    await server.end();
  }
});
afterAll(() => removeTempDirs());

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function createRole(label: string, login = true): Promise<string> {
  const role = `cli_${label}_${process.pid}_${randomBytes(3).toString("hex")}`;
  await admin.query(`create role ${role} ${login ? "login" : "nologin"} password 'pw-${role}'`);
  roles.push(role);
  return role;
}

/** The test database's URL as `role`. */
function urlAs(role: string): string {
  const u = new URL(database.url);
  u.username = role;
  u.password = `pw-${role}`;
  return u.toString();
}

/** The CLI in direct mode against this test's database, connected as `role`. */
function cliAs(role: string, dir: string, ...args: string[]) {
  return runCli([...args, "--migrations-dir", dir, "--actor", "tester"], {
    env: { DATABASE_URL: urlAs(role) },
  });
}

describe("direct mode, as a role the database refuses", () => {
  it("a role owning only the platform schema: apply names CREATE on the database and the grant", async () => {
    const role = await createRole("platform");
    await admin.query(`create schema platform authorization ${role}`);
    const dir = tempDir(WIDGETS);

    const result = await cliAs(role, dir, "apply");

    expect(result.code).toBe(1);
    const stderr = flat(result.stderr);
    expect(stderr).toMatch(/permission denied for database|lacks CREATE on database/);
    expect(stderr).toContain(database.name);
    expect(stderr).toContain(`GRANT CREATE ON DATABASE ${database.name} TO`);
    expect(stderr).not.toMatch(NOT_AN_OUTAGE);
    expect(await tableExists(database.url, "platform.widgets")).toBe(false);

    const json = await cliAs(role, dir, "apply", "--json");
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      error: {
        code: "DATABASE_REFUSED",
        hint: expect.stringContaining("GRANT CREATE ON DATABASE"),
      },
    });
  });

  it("tracking tables owned by another role, never granted: status names the table's privileges", async () => {
    const role = await createRole("tracking");
    const owner = await createRole("owner", false);
    await admin.query(`create schema platform authorization ${role}`);
    await admin.query(
      `create table platform.schema_migrations (id uuid primary key default gen_random_uuid(), migration_name text unique not null, applied_at timestamptz not null default now(), applied_by text, status text not null, error_message text, execution_time_ms integer, checksum text, rolled_back_at timestamptz, rolled_back_by text, up_sql text, transactional boolean);
       create table platform.schema_migration_events (id bigint generated always as identity primary key, migration_name text not null, action text not null, outcome text not null, actor text, at timestamptz not null default now(), execution_time_ms integer, error_message text, checksum text);
       alter table platform.schema_migrations owner to ${owner};
       alter table platform.schema_migration_events owner to ${owner}`,
    );
    const dir = tempDir(WIDGETS);

    for (const command of ["status", "apply"]) {
      const result = await cliAs(role, dir, command);

      expect(result.code, command).toBe(1);
      const stderr = flat(result.stderr);
      expect(stderr).toMatch(
        /permission denied for table schema_migrations|lacks SELECT, INSERT and UPDATE on platform\.schema_migrations/,
      );
      expect(stderr).toMatch(/GRANT SELECT, INSERT, UPDATE ON platform\.schema_migrations TO/);
      expect(stderr).not.toMatch(NOT_AN_OUTAGE);
      expect(stderr).not.toContain("Fix the SQL");
    }
    expect(await tableExists(database.url, "platform.widgets")).toBe(false);
  });

  it("a role that may not log in: apply says so and what to change", async () => {
    const role = await createRole("nologin", false);

    const result = await cliAs(role, tempDir(WIDGETS), "apply");

    expect(result.code).toBe(1);
    const stderr = flat(result.stderr);
    expect(stderr).toContain(`role "${role}" is not permitted to log in`);
    expect(stderr).toContain(`ALTER ROLE ${role} LOGIN;`);
    expect(stderr).not.toMatch(NOT_AN_OUTAGE);
  });

  it("a role that may not log in: status says so too", async () => {
    const role = await createRole("nologin", false);

    const result = await cliAs(role, tempDir(WIDGETS), "status");

    expect(result.code).toBe(1);
    const stderr = flat(result.stderr);
    expect(stderr).toContain(`role "${role}" is not permitted to log in`);
    expect(stderr).toContain(`ALTER ROLE ${role} LOGIN;`);
    expect(stderr).not.toMatch(NOT_AN_OUTAGE);
  });
});
