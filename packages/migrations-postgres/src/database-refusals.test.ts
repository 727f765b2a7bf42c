import { randomBytes } from "node:crypto";
import {
  createMigrationEngine,
  DatabaseRefusedError,
  type Executor,
  memorySource,
  type SqlFailure,
} from "@studio/migrations-core";
import { createTestDatabase, startPgMeta, type TestDatabase } from "@studio/test-postgres";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  refusalOf,
  STANDBY_CHECK_SQL,
  standbyRefusal,
  TARGET_CHECK_SQL,
  type TargetCheckRow,
  targetRefusal,
} from "./database-refusals.ts";
import { createPgMetaExecutor, createPostgresExecutor } from "./index.ts";
import { toSqlFailure } from "./sql-failure.ts";
import { TRACKING_TABLES_SQL, TRACKING_UPGRADE_SQL } from "./tracking-schema.ts";

// SPEC §4 (a read-only standby is refused before anything runs) and issue 12: a privilege the
// database refused is said as such — the privilege, the object, what to grant — never as "check
// the URL and that the server is up", nor as a failure of the migration's SQL.

/** What no refusal may say: it is not an outage. */
const NOT_AN_OUTAGE = /server is up|check the url|reachable|unavailable/i;

/** The tracking tables as an earlier version of the engine created them (no `up_sql`, no `transactional`). */
const OLD_TRACKING_TABLES = `create table platform.schema_migrations (id uuid primary key default gen_random_uuid(), migration_name text unique not null, applied_at timestamptz not null default now(), applied_by text, status text not null, error_message text, execution_time_ms integer, checksum text, rolled_back_at timestamptz, rolled_back_by text);
create table platform.schema_migration_events (id bigint generated always as identity primary key, migration_name text not null, action text not null, outcome text not null, actor text, at timestamptz not null default now(), execution_time_ms integer, error_message text, checksum text)`;

const MIGRATIONS = memorySource([
  { name: "001_widgets", sql: "-- migrate:up\ncreate table platform.widgets (id int);\n" },
]);

let database: TestDatabase;
let admin: pg.Client;
/** Roles this test made; dropped (with what they own in the test database) afterwards. */
const roles: string[] = [];
const executors: Executor[] = [];
/** postgres-meta servers this test started. */
const stops: (() => Promise<void>)[] = [];

beforeEach(async () => {
  database = await createTestDatabase("refusals");
  admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
});

afterEach(async () => {
  await Promise.all(executors.splice(0).map((e) => e.close().catch(() => {})));
  await admin.end();
  await database.drop();
  // Dropped after their database (which held what they owned), from the server's admin database.
  const server = new pg.Client({ connectionString: withDatabase(database.url, "postgres") });
  await server.connect();
  try {
    for (const role of roles.splice(0)) await server.query(`drop role if exists ${role}`);
  } finally {
    await server.end();
  }
});

/** A login role with a unique name (a password too, for servers that ask for one). */
async function createRole(label: string, login = true): Promise<string> {
  const role = `refusal_${label}_${process.pid}_${randomBytes(3).toString("hex")}`;
  await admin.query(`create role ${role} ${login ? "login" : "nologin"} password 'secret-${role}'`);
  roles.push(role);
  return role;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** The test database's URL, logged in as `role`. */
function urlAs(role: string): string {
  const u = new URL(database.url);
  u.username = role;
  u.password = `secret-${role}`;
  return u.toString();
}

/** What the database says to `role` running `sql` (as `toSqlFailure` makes of it), or null. */
async function failureAs(role: string, sql: string, url = urlAs(role)): Promise<SqlFailure | null> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query(sql);
    return null;
  } catch (error) {
    return toSqlFailure(error);
  } finally {
    await client.end().catch(() => {});
  }
}

async function targetCheckAs(role: string): Promise<TargetCheckRow> {
  const client = new pg.Client({ connectionString: urlAs(role) });
  await client.connect();
  try {
    return (await client.query<TargetCheckRow>(TARGET_CHECK_SQL)).rows[0] as TargetCheckRow;
  } finally {
    await client.end();
  }
}

/** The SQL statements a hint quotes between backticks. */
function statementsIn(hint: string | null): string[] {
  return [...(hint ?? "").matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
}

/** A role that owns the `platform` schema and nothing else (no CREATE on the database). */
async function platformOwner(): Promise<string> {
  const role = await createRole("platform");
  await admin.query(`create schema platform authorization ${role}`);
  return role;
}

/**
 * A role that owns `platform`, where the tracking tables were created by another role (as an
 * earlier deployment, or a DBA, did) and never granted.
 */
async function trackingOwnedByAnother(): Promise<{ role: string; owner: string }> {
  const role = await platformOwner();
  const owner = await createRole("owner", false);
  await admin.query(`grant usage, create on schema platform to ${owner}`);
  await admin.query(`set role ${owner}`);
  await admin.query(TRACKING_TABLES_SQL.replace("create schema if not exists platform;", ""));
  await admin.query(TRACKING_UPGRADE_SQL);
  await admin.query("reset role");
  return { role, owner };
}

describe("refusalOf, on errors the database really sends", () => {
  it("a role owning only the platform schema cannot create the tracking tables: CREATE on the database, named", async () => {
    const role = await platformOwner();
    const failure = await failureAs(role, TRACKING_TABLES_SQL);
    expect(failure).toMatchObject({ code: "42501" });

    const refusal = refusalOf(failure as SqlFailure, "create the tracking tables");

    expect(refusal).toBeInstanceOf(DatabaseRefusedError);
    expect(refusal).toMatchObject({ code: "DATABASE_REFUSED", reason: "privilege" });
    expect(refusal?.message).toBe(
      `Could not create the tracking tables: the database refused: permission denied for database ${database.name}.`,
    );
    expect(refusal?.hint).toContain(`GRANT CREATE ON DATABASE ${database.name} TO <role>;`);
    expect(refusal?.hint).toContain("create schema if not exists platform");
    expect(refusal?.hint).not.toMatch(NOT_AN_OUTAGE);

    // The grant it names is the one missing: with it, the tracking tables can be created.
    const grant = statementsIn(refusal?.hint ?? null).find((s) => s.startsWith("GRANT")) ?? "";
    await admin.query(grant.replace("<role>", role));
    expect(await failureAs(role, TRACKING_TABLES_SQL)).toBeNull();
  });

  it("tracking tables another role owns, never granted: the table named, the grants to make", async () => {
    const { role } = await trackingOwnedByAnother();
    const failure = await failureAs(role, "select * from platform.schema_migrations");
    expect(failure).toMatchObject({ code: "42501" });

    const refusal = refusalOf(failure as SqlFailure, "read the migration state");

    expect(refusal).toMatchObject({ code: "DATABASE_REFUSED", reason: "privilege" });
    expect(refusal?.message).toBe(
      "Could not read the migration state: the database refused: permission denied for table schema_migrations.",
    );
    expect(refusal?.hint).toContain(
      "GRANT SELECT, INSERT, UPDATE ON platform.schema_migrations TO <role>;",
    );
    expect(refusal?.hint).toContain("ALTER TABLE platform.schema_migrations OWNER TO <role>;");
    expect(refusal?.hint).not.toMatch(NOT_AN_OUTAGE);

    // The grants it names are enough to read and write the tracking tables.
    const grants = statementsIn(refusal?.hint ?? null).find((s) => s.startsWith("GRANT")) ?? "";
    await admin.query(grants.replaceAll("<role>", role));
    expect(
      await failureAs(
        role,
        "select * from platform.schema_migrations; insert into platform.schema_migrations (migration_name, status) values ('x', 'failed'); update platform.schema_migrations set status = 'applied'; insert into platform.schema_migration_events (migration_name, action, outcome) values ('x', 'apply', 'succeeded'); select * from platform.schema_migration_events",
      ),
    ).toBeNull();
  });

  it("another tool's schema_migrations (adopt) is not taken for the tracking table", async () => {
    const role = await createRole("adopt");
    await admin.query("create table public.schema_migrations (version text primary key)");
    const failure = await failureAs(role, "select version from public.schema_migrations");
    expect(failure?.message).toBe("permission denied for table schema_migrations");

    const refusal = refusalOf(failure as SqlFailure, "read the dbmate history", {
      trackingTables: false,
    });

    expect(refusal).toMatchObject({ code: "DATABASE_REFUSED", reason: "privilege" });
    expect(refusal?.message).toContain("permission denied for table schema_migrations");
    expect(refusal?.hint).not.toContain("platform.");
    expect(refusal?.hint).toContain("table schema_migrations");
  });

  it("a schema the role may not use: USAGE and CREATE on it", async () => {
    const role = await createRole("nousage");
    await admin.query("create schema platform");
    const failure = await failureAs(role, "select * from platform.schema_migrations");

    const refusal = refusalOf(failure as SqlFailure, "read the migration state");

    expect(refusal?.message).toContain("permission denied for schema platform");
    expect(refusal?.hint).toContain("GRANT USAGE, CREATE ON SCHEMA platform TO <role>;");
  });

  it("tracking tables of an earlier version, owned by another role: their ownership, to upgrade them", async () => {
    const role = await platformOwner();
    const owner = await createRole("oldowner", false);
    await admin.query(OLD_TRACKING_TABLES);
    await admin.query(
      `alter table platform.schema_migrations owner to ${owner}; alter table platform.schema_migration_events owner to ${owner}`,
    );
    const failure = await failureAs(
      role,
      "alter table platform.schema_migrations add column up_sql text",
    );
    expect(failure?.message).toBe("must be owner of table schema_migrations");

    const refusal = refusalOf(failure as SqlFailure, "create the tracking tables");

    expect(refusal).toMatchObject({ reason: "privilege" });
    expect(refusal?.message).toContain("must be owner of table schema_migrations");
    expect(refusal?.hint).toContain("ALTER TABLE platform.schema_migrations OWNER TO <role>;");
  });

  it("read-only transactions (a standby's, or default_transaction_read_only): refused as such", async () => {
    const role = await createRole("readonly");
    await admin.query(`alter role ${role} set default_transaction_read_only = on`);
    await admin.query(`grant create on database ${database.name} to ${role}`);
    const failure = await failureAs(role, "create schema platform");
    expect(failure).toMatchObject({ code: "25006" });

    const refusal = refusalOf(failure as SqlFailure, "create the tracking tables");

    expect(refusal).toMatchObject({ code: "DATABASE_REFUSED", reason: "read_only" });
    expect(refusal?.message).toContain("read-only transaction");
    expect(refusal?.hint).toContain("primary");
    expect(refusal?.hint).toContain("default_transaction_read_only");
  });

  it("logins: no such role, NOLOGIN, no such database, no CONNECT", async () => {
    const nologin = await createRole("nologin", false);
    const noConnect = await createRole("noconnect");
    await admin.query(`revoke connect on database ${database.name} from public`);

    // Under password authentication, Postgres does not tell a missing role from a wrong password.
    const ghost = await failureAs("x", "select 1", urlAs(`refusal_ghost_${process.pid}`));
    expect(["28000", "28P01"]).toContain(ghost?.code);
    expect(refusalOf(ghost as SqlFailure, "read the migration state")).toMatchObject({
      reason: "login",
      message: expect.stringContaining(`"refusal_ghost_${process.pid}"`),
      hint:
        ghost?.code === "28000"
          ? expect.stringContaining(`CREATE ROLE refusal_ghost_${process.pid} LOGIN;`)
          : expect.stringContaining("user name and the password"),
    });

    const refusedLogin = refusalOf(
      (await failureAs(nologin, "select 1")) as SqlFailure,
      "read the migration state",
    );
    expect(refusedLogin).toMatchObject({ reason: "login" });
    expect(refusedLogin?.hint).toContain(`ALTER ROLE ${nologin} LOGIN;`);

    const noDatabase = await failureAs(
      "x",
      "select 1",
      withDatabase(database.url, `${database.name}_nope`),
    );
    expect(noDatabase?.code).toBe("3D000");
    expect(refusalOf(noDatabase as SqlFailure, "read the migration state")).toMatchObject({
      reason: "no_database",
      hint: expect.stringContaining(`CREATE DATABASE ${database.name}_nope;`),
    });

    const connect = await failureAs(noConnect, "select 1");
    expect(connect).toMatchObject({
      code: "42501",
      detail: "User does not have CONNECT privilege.",
    });
    const connectRefusal = refusalOf(connect as SqlFailure, "read the migration state");
    expect(connectRefusal?.message).toContain(`permission denied for database "${database.name}"`);
    expect(connectRefusal?.hint).toContain(`GRANT CONNECT ON DATABASE ${database.name} TO <role>;`);
    for (const refusal of [refusedLogin, connectRefusal]) {
      expect(refusal?.hint).not.toMatch(NOT_AN_OUTAGE);
    }
  });

  it("a login refused after its SQLSTATE was lost on the way is still recognised", () => {
    const lost = (message: string): SqlFailure => ({
      message,
      code: null,
      detail: null,
      hint: null,
      position: null,
    });
    expect(
      refusalOf(lost('password authentication failed for user "deploy"'), "apply 001_a"),
    ).toMatchObject({ reason: "login", message: expect.stringContaining('user "deploy"') });
    expect(refusalOf(lost('database "gone" does not exist'), "apply 001_a")).toMatchObject({
      reason: "no_database",
    });
    expect(refusalOf(lost("connect ECONNREFUSED 127.0.0.1:1"), "apply 001_a")).toBeNull();
  });

  it("is not a refusal: a lock time-out, a missing table, a shutdown, a bookkeeping failure inside a unit", () => {
    const failure = (code: string, message: string, detail: string | null = null): SqlFailure => ({
      message,
      code,
      detail,
      hint: null,
      position: null,
    });
    for (const notRefused of [
      failure("55P03", "canceling statement due to lock timeout"),
      failure("42P01", 'relation "platform.schema_migrations" does not exist'),
      failure("3F000", 'schema "platform" does not exist'),
      failure("57P01", "terminating connection due to administrator command"),
      failure("57P03", "the database system is starting up"),
      failure("57P03", "the database system is shutting down"),
      failure("57P03", "the database system is in recovery mode"),
      failure("53300", "sorry, too many clients already"),
      failure("SMBKP", "permission denied for table schema_migrations", "SQLSTATE 42501"),
      failure("42601", 'syntax error at or near "selec"'),
    ]) {
      expect(refusalOf(notRefused, "read the migration state"), notRefused.message).toBeNull();
    }
  });
});

describe("the standby check", () => {
  it("refuses a standby's answer, and passes a primary's (this server's)", async () => {
    expect(standbyRefusal({ in_recovery: true })).toMatchObject({
      code: "DATABASE_REFUSED",
      reason: "standby",
      message:
        "The target is a read-only standby (in recovery): migrations must run on the primary.",
      hint: expect.stringContaining("primary"),
    });
    // postgres-meta and some drivers send booleans as text.
    expect(standbyRefusal({ in_recovery: "t" })).toBeInstanceOf(DatabaseRefusedError);
    expect(standbyRefusal({ in_recovery: false })).toBeNull();
    expect(standbyRefusal(undefined)).toBeNull();

    const { rows } = await admin.query(STANDBY_CHECK_SQL);
    expect(rows).toEqual([{ in_recovery: false }]);
    expect(standbyRefusal(rows[0])).toBeNull();
  });

  it("a hot standby's own errors are refused as a standby", () => {
    const standby = (code: string, message: string, detail: string | null = null) =>
      refusalOf({ message, code, detail, hint: null, position: null }, "apply 001_a");
    expect(
      standby(
        "57P03",
        "the database system is not accepting connections",
        "Hot standby mode is disabled.",
      ),
    ).toMatchObject({ reason: "standby", message: expect.stringContaining("primary") });
    expect(
      standby("25006", "cannot set transaction read-write mode during recovery"),
    ).toMatchObject({ reason: "standby" });
  });
});

describe("targetRefusal, on the target check's real answers", () => {
  it("passes a superuser on a fresh database", async () => {
    const { rows } = await admin.query<TargetCheckRow>(TARGET_CHECK_SQL);
    expect(rows[0]).toMatchObject({ in_recovery: false, read_only: false, tracking: "none" });
    expect(targetRefusal(rows[0])).toBeNull();
  });

  it("names the role and the grant a platform-only owner lacks, and the grant is enough", async () => {
    const role = await platformOwner();

    const refusal = targetRefusal(await targetCheckAs(role));

    expect(refusal).toMatchObject({ code: "DATABASE_REFUSED", reason: "privilege" });
    expect(refusal?.message).toBe(
      `The role ${role} cannot create the tracking tables: it lacks CREATE on database ${database.name}. (000 runs \`create schema if not exists platform\`, which Postgres checks against CREATE on the database even when the schema exists.)`,
    );
    const [grant = ""] = statementsIn(refusal?.hint ?? null);
    expect(grant).toBe(`GRANT CREATE ON DATABASE ${database.name} TO ${role};`);

    await admin.query(grant);
    expect(targetRefusal(await targetCheckAs(role))).toBeNull();
    expect(await failureAs(role, TRACKING_TABLES_SQL)).toBeNull();
    expect(await targetCheckAs(role)).toMatchObject({ tracking: "incomplete" });
    expect(targetRefusal(await targetCheckAs(role))).toBeNull();
    expect(await failureAs(role, TRACKING_UPGRADE_SQL)).toBeNull();
    expect(await targetCheckAs(role)).toMatchObject({ tracking: "complete" });
    expect(targetRefusal(await targetCheckAs(role))).toBeNull();
  });

  it("names what the role lacks on tracking tables another role owns, and the grants are enough", async () => {
    const { role } = await trackingOwnedByAnother();

    const refusal = targetRefusal(await targetCheckAs(role));

    expect(refusal?.message).toBe(
      `The role ${role} cannot use the tracking tables: it lacks SELECT, INSERT and UPDATE on platform.schema_migrations, SELECT and INSERT on platform.schema_migration_events.`,
    );
    const grants = statementsIn(refusal?.hint ?? null).find((s) => s.startsWith("GRANT")) ?? "";
    expect(grants).toContain(`TO ${role};`);
    await admin.query(grants);
    expect(targetRefusal(await targetCheckAs(role))).toBeNull();
  });

  it("refuses a role whose transactions are read-only", async () => {
    const role = await createRole("ro");
    await admin.query(`alter role ${role} set default_transaction_read_only = on`);

    const refusal = targetRefusal(await targetCheckAs(role));

    expect(refusal).toMatchObject({ reason: "read_only" });
    expect(refusal?.hint).toContain(`ALTER ROLE ${role} RESET default_transaction_read_only;`);
  });

  it("refuses a standby first of all", () => {
    expect(
      targetRefusal({
        in_recovery: true,
        read_only: true,
        role: "app",
        database: "app",
        database_create: false,
        schema_usage: null,
        schema_create: null,
        migrations_writable: null,
        events_writable: null,
        tracking_owned: null,
        tracking: "none",
      }),
    ).toMatchObject({ reason: "standby" });
  });
});

// Through the engine: what `apply` and `list` say to such a role, on the executors that reach a
// real server with a role of its own. (PGlite has a single superuser.)
describe.each([
  ["postgres", (url: string) => Promise.resolve(createPostgresExecutor({ connection: url }))],
  [
    "pg-meta",
    async (url: string) => {
      const server = await startPgMeta(url);
      stops.push(() => server.stop());
      return createPgMetaExecutor({ url: server.url });
    },
  ],
] as const)("the engine over %s, as a role the database refuses", (_, makeExecutor) => {
  afterEach(async () => {
    await Promise.all(stops.splice(0).map((stop) => stop()));
  });

  async function engineAs(role: string) {
    const executor = await makeExecutor(urlAs(role));
    executors.push(executor);
    return createMigrationEngine({ executor, source: MIGRATIONS });
  }

  async function refusalFrom(work: Promise<unknown>): Promise<DatabaseRefusedError> {
    const error = await work.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DatabaseRefusedError);
    return error as DatabaseRefusedError;
  }

  it("a role owning only the platform schema: apply names CREATE on the database, applies nothing", async () => {
    const role = await platformOwner();
    const engine = await engineAs(role);

    // Nothing recorded yet: the list works (all pending).
    expect((await engine.list()).pending.map((m) => m.name)).toEqual(["001_widgets"]);

    const refusal = await refusalFrom(engine.apply({ actor: "deploy" }));

    expect(refusal.code).toBe("DATABASE_REFUSED");
    expect(refusal.message).toMatch(/CREATE on database|permission denied for database/);
    expect(refusal.message).toContain(database.name);
    expect(refusal.hint).toContain(`GRANT CREATE ON DATABASE ${database.name} TO`);
    expect(refusal.hint).not.toMatch(NOT_AN_OUTAGE);
    const { rows } = await admin.query(
      "select to_regclass('platform.widgets') as widgets, to_regclass('platform.schema_migrations') as tracking",
    );
    expect(rows).toEqual([{ widgets: null, tracking: null }]);
  });

  it("tracking tables owned by another role, never granted: list and apply name the table's privileges", async () => {
    const { role } = await trackingOwnedByAnother();
    const engine = await engineAs(role);

    for (const work of [() => engine.list(), () => engine.apply({ actor: "deploy" })]) {
      const refusal = await refusalFrom(work());
      expect(refusal.code).toBe("DATABASE_REFUSED");
      expect(refusal.message).toMatch(
        /permission denied for table schema_migrations|lacks SELECT, INSERT and UPDATE on platform\.schema_migrations/,
      );
      expect(refusal.hint).toMatch(
        /GRANT SELECT, INSERT, UPDATE ON platform\.schema_migrations TO/,
      );
      expect(refusal.hint).not.toMatch(NOT_AN_OUTAGE);
    }
    const { rows } = await admin.query(
      "select to_regclass('platform.widgets') as widgets, (select count(*)::int from platform.schema_migration_events) as events",
    );
    expect(rows).toEqual([{ widgets: null, events: 0 }]);
  });
});
