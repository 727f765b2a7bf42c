import { PGlite } from "@electric-sql/pglite";
import {
  createTestDatabase,
  type PgMetaServer,
  startPgMeta,
  type TestDatabase,
} from "@studio/test-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseRelationSizes, relationSizesSql } from "./relation-sizes.ts";

const ROWS = 200_000;

describe("relation sizes on PostgreSQL", () => {
  let database: TestDatabase;
  let client: pg.Client;
  const others: pg.Client[] = [];

  const sizes = async (names: readonly string[], session: pg.Client = client) =>
    parseRelationSizes((await session.query(relationSizesSql(names))).rows);
  const connect = async (applicationName: string) => {
    const other = new pg.Client({
      connectionString: database.url,
      application_name: applicationName,
    });
    await other.connect();
    others.push(other);
    return other;
  };

  beforeAll(async () => {
    database = await createTestDatabase("relation_sizes");
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
    await client.query(`
      create schema app;
      create table app.users (id bigint primary key, email text not null);
      insert into app.users select g, 'user' || g || '@example.com' from generate_series(1, ${ROWS}) g;
      analyze app.users;
      create table app."MixedCase" (id int);
      create table app.never_analyzed (id int);
    `);
  });
  afterAll(async () => {
    await Promise.all(others.map((other) => other.end()));
    await client?.end();
    await database?.drop();
  });

  it("answers the estimated rows and total bytes of a populated, analyzed table as the catalog has them", async () => {
    const [users] = await sizes(["app.users"]);
    const {
      rows: [catalog],
    } = await client.query<{ reltuples: number; total: string }>(
      "select reltuples::float8 as reltuples, pg_total_relation_size('app.users')::text as total from pg_class where oid = 'app.users'::regclass",
    );
    expect(users).toEqual({
      name: "app.users",
      exists: true,
      relation: "app.users",
      kind: "table",
      estimatedRows: Math.round(catalog?.reltuples ?? Number.NaN),
      totalBytes: Number(catalog?.total),
      lockHolders: [],
    });
    // ANALYZE of 200k narrow rows reads them all: the estimate is the count, and the table with its
    // primary key index is several megabytes.
    expect(users?.estimatedRows).toBe(ROWS);
    expect(users?.totalBytes).toBeGreaterThan(5 * 1024 * 1024);
  });

  it("answers null rows for a table never vacuumed or analyzed, not -1", async () => {
    const [table] = await sizes(["app.never_analyzed"]);
    expect(table).toMatchObject({ exists: true, estimatedRows: null, totalBytes: 0 });
  });

  it("says a missing table does not exist, in the order asked, beside one that does", async () => {
    expect(await sizes(["app.missing", "app.users", "missing"])).toEqual([
      expect.objectContaining({
        name: "app.missing",
        exists: false,
        relation: null,
        kind: null,
        estimatedRows: null,
        totalBytes: null,
        lockHolders: [],
      }),
      expect.objectContaining({ name: "app.users", exists: true }),
      expect.objectContaining({ name: "missing", exists: false }),
    ]);
  });

  it("resolves an unqualified name through the asking session's search_path", async () => {
    const session = await connect("search-path");
    expect((await sizes(["users"], session))[0]?.exists).toBe(false);
    await session.query("set search_path = app, public");
    expect((await sizes(["users"], session))[0]).toMatchObject({
      name: "users",
      exists: true,
      relation: "app.users",
    });
  });

  it("reads a quoted mixed-case name as SQL does, and its folded spelling as another name", async () => {
    const [quoted, folded] = await sizes(['app."MixedCase"', "app.MixedCase"]);
    expect(quoted).toMatchObject({ exists: true, relation: 'app."MixedCase"', kind: "table" });
    expect(folded).toMatchObject({ name: "app.MixedCase", exists: false });
  });

  it("treats a hostile name as data: nothing runs, the name simply does not exist", async () => {
    const hostile = [
      `"x'); drop table app.users; --"`,
      `app."users\\'; drop table app.users; --"`,
      `"$$; drop table app.users; $$"`,
    ];
    const answered = await sizes(hostile);
    expect(answered.map((size) => [size.name, size.exists])).toEqual(
      hostile.map((name) => [name, false]),
    );
    const { rows } = await client.query<{ n: string }>("select count(*) as n from app.users");
    expect(Number(rows[0]?.n)).toBe(ROWS);
  });

  it("finds a table in a schema the asking role may not use, where to_regclass would fail", async () => {
    // Roles belong to the whole server, which other test runs share.
    const role = `lint_sizes_probe_${process.pid}_${Date.now()}`;
    await client.query(`
      create schema hidden;
      create table hidden.t (a int);
      create role ${role};
    `);
    const session = await connect("no-usage");
    try {
      await session.query(`set role ${role}`);
      await expect(session.query("select to_regclass('hidden.t')")).rejects.toThrow(
        /permission denied/,
      );
      expect(
        (await sizes(["hidden.t", "app.users"], session)).map((s) => [s.name, s.exists]),
      ).toEqual([
        ["hidden.t", true],
        ["app.users", true],
      ]);
    } finally {
      await session.query("reset role");
      await client.query(`drop schema hidden cascade; drop role ${role}`);
    }
  });

  it("cuts a name longer than 63 bytes as PostgreSQL cuts it", async () => {
    const long = `t_${"x".repeat(70)}`;
    await client.query(`create table app.${long} (a int)`);
    expect((await sizes([`app.${long}`]))[0]).toMatchObject({
      exists: true,
      relation: `app.${long.slice(0, 63)}`,
    });
  });

  it("refuses, before any SQL, a name to_regclass could not read", () => {
    for (const bad of ["", "a.b.c", '"unterminated', "app.", "two words", "nul\u0000"]) {
      expect(() => relationSizesSql([bad]), JSON.stringify(bad)).toThrow(/is not a relation name/);
    }
  });

  it("asked about nothing, answers nothing", async () => {
    expect(await sizes([])).toEqual([]);
  });

  it("names a session holding a lock, and one queued behind it, but not the session asking", async () => {
    const [before] = await sizes(["app.users"]);
    const holder = await connect("lint-holder");
    await holder.query("begin");
    await holder.query("lock table app.users in share mode");
    const {
      rows: [held],
    } = await holder.query<{ pid: number; xact_start: Date }>(
      "select pg_backend_pid() as pid, xact_start from pg_stat_activity where pid = pg_backend_pid()",
    );
    // Measured while only the SHARE lock is held: the ACCESS SHARE measuring takes does not conflict.
    expect((await sizes(["app.users"]))[0]).toMatchObject({ totalBytes: before?.totalBytes });
    const waiter = await connect("lint-waiter");
    const waiterPid = (await waiter.query<{ pid: number }>("select pg_backend_pid() as pid"))
      .rows[0]?.pid;
    const queued = waiter.query("begin; lock table app.users in access exclusive mode");
    try {
      await until(async () => ((await sizes(["app.users"]))[0]?.lockHolders.length ?? 0) >= 2);
      const [users] = await sizes(["app.users"]);
      expect(users?.lockHolders).toEqual([
        {
          pid: held?.pid,
          mode: "SHARE",
          granted: true,
          user: "postgres",
          applicationName: "lint-holder",
          state: "idle in transaction",
          since: held?.xact_start.toISOString(),
          query: expect.stringContaining("select pg_backend_pid()"),
        },
        {
          pid: waiterPid,
          mode: "ACCESS EXCLUSIVE",
          granted: false,
          user: "postgres",
          applicationName: "lint-waiter",
          state: "active",
          since: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          query: "begin; lock table app.users in access exclusive mode",
        },
      ]);
      // Measuring would queue behind the ACCESS EXCLUSIVE request (and so behind the holder): the
      // size is then the catalog's page count, which leaves out only the free space and visibility
      // maps.
      expect(users?.totalBytes).toBeLessThanOrEqual(before?.totalBytes ?? 0);
      expect(users?.totalBytes).toBeGreaterThan((before?.totalBytes ?? 0) * 0.95);
      const own = (await client.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]
        ?.pid;
      expect(users?.lockHolders.map((h) => h.pid)).not.toContain(own);
    } finally {
      await holder.query("rollback");
      await queued;
      await waiter.query("rollback");
    }
    expect((await sizes(["app.users"]))[0]?.lockHolders).toEqual([]);
  });
});

describe("relation sizes over the other transports", () => {
  let database: TestDatabase;
  let server: PgMetaServer;
  let pglite: PGlite;
  let client: pg.Client;
  const setup = `
    create schema app;
    create table app.users (id int primary key, email text);
    insert into app.users select g, 'u' || g from generate_series(1, 5000) g;
    analyze app.users;`;
  const names = ["app.users", "app.missing", 'app."Missing"'];

  beforeAll(async () => {
    database = await createTestDatabase("relation_sizes_transports");
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
    await client.query(setup);
    server = await startPgMeta(database.url);
    pglite = await PGlite.create();
    await pglite.exec(setup);
  });
  afterAll(async () => {
    await client?.end();
    await server?.stop();
    await database?.drop();
    await pglite?.close();
  });

  it("reads postgres-meta's answer (bigint, json and timestamps as JSON gives them) as pg's", async () => {
    const response = await fetch(`${server.url}/query`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: relationSizesSql(names) }),
    });
    expect(response.status).toBe(200);
    const viaMeta = parseRelationSizes((await response.json()) as unknown[]);
    const viaPg = parseRelationSizes((await client.query(relationSizesSql(names))).rows);
    expect(viaMeta).toEqual(viaPg);
    expect(viaMeta[0]).toMatchObject({ exists: true, estimatedRows: 5000 });
    expect(viaMeta[0]?.totalBytes).toBeGreaterThan(0);
  });

  it("reads PGlite's answer, sizes as its own catalog has them", async () => {
    const answered = parseRelationSizes((await pglite.query(relationSizesSql(names))).rows);
    const catalog = (
      await pglite.query<{ total: number }>(
        "select pg_total_relation_size('app.users')::float8 as total",
      )
    ).rows[0];
    expect(answered).toEqual([
      {
        name: "app.users",
        exists: true,
        relation: "app.users",
        kind: "table",
        estimatedRows: 5000,
        totalBytes: catalog?.total,
        lockHolders: [],
      },
      expect.objectContaining({ name: "app.missing", exists: false }),
      expect.objectContaining({ name: 'app."Missing"', exists: false }),
    ]);
  });
});

describe("parseRelationSizes", () => {
  const row = {
    name: "app.users",
    relation: "app.users",
    kind: "r",
    estimated_rows: 10,
    total_bytes: "8192",
    lock_holders: "[]",
  };

  it("accepts bigint as text, json as text, and booleans as t/f", () => {
    const holders = JSON.stringify([
      {
        pid: 7,
        mode: "RowExclusiveLock",
        granted: "t",
        user: "app",
        application_name: "",
        state: "active",
        since: "2026-12-01 10:00:00+00",
        query: "update app.users set email = email",
      },
    ]);
    expect(parseRelationSizes([{ ...row, lock_holders: holders }])).toEqual([
      {
        name: "app.users",
        exists: true,
        relation: "app.users",
        kind: "table",
        estimatedRows: 10,
        totalBytes: 8192,
        lockHolders: [
          {
            pid: 7,
            mode: "ROW EXCLUSIVE",
            granted: true,
            user: "app",
            applicationName: null,
            state: "active",
            since: "2026-12-01T10:00:00.000Z",
            query: "update app.users set email = email",
          },
        ],
      },
    ]);
  });

  it("refuses a row that is not an answer, naming the row and the field", () => {
    expect(() => parseRelationSizes([row, { ...row, total_bytes: "lots" }])).toThrow(
      'relation sizes, row 2: total_bytes is "lots", expected a number or null',
    );
    expect(() => parseRelationSizes([{ ...row, kind: "z" }])).toThrow(/kind is "z"/);
    expect(() => parseRelationSizes([{ ...row, lock_holders: "{" }])).toThrow(/lock_holders/);
    expect(() => parseRelationSizes([{ ...row, lock_holders: [{ mode: 1 }] }])).toThrow(
      "relation sizes, row 1, lock holder 1: mode is number 1, expected text",
    );
    expect(() => parseRelationSizes(["app.users"])).toThrow(/row 1: expected an object/);
  });
});

async function until(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
