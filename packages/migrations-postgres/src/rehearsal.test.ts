import {
  createMigrationEngine,
  type Executor,
  type MigrationToRehearse,
  memorySource,
  type RehearsedLock,
  splitSqlStatements,
} from "@studio/migrations-core";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPostgresExecutor } from "./postgres/postgres-executor.ts";
import {
  parseRehearsalBatch,
  readRelationSizesOver,
  rehearsalBatch,
  rehearseOver,
} from "./rehearsal.ts";
import { DEFAULT_TIMEOUTS } from "./sql-failure.ts";
import { type PostgresTarget, pgliteTarget, postgresTarget, type Target } from "./test-targets.ts";
import { type Transport, transportOf } from "./transport.ts";

const ROWS = 3_000;

/** A migration's up section as the engine hands it to an executor: statement by statement. */
function migration(name: string, sql: string, upLine = 2): MigrationToRehearse {
  return {
    name,
    statements: splitSqlStatements(sql).map((statement) => ({
      sql: statement.text,
      line: upLine + statement.line - 1,
    })),
  };
}

/** Everything a rehearsal must leave as it was: the schema, the data, the tracking tables. */
async function stateOf(target: Target) {
  const text = async (sql: string) => JSON.stringify(await target.query(sql));
  return {
    columns: await text(
      "select table_name, column_name, data_type, is_nullable, column_default from information_schema.columns where table_schema = 'platform' order by 1, 2",
    ),
    relations: await text(
      "select c.relname, c.relkind::text from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'platform' order by 1",
    ),
    constraints: await text(
      "select conname, pg_get_constraintdef(oid) from pg_constraint where connamespace = 'platform'::regnamespace order by 1",
    ),
    data: await text(
      "select count(*)::int as rows, md5(string_agg(id::text || ':' || email, ',' order by id)) as digest from platform.users",
    ),
    records: await text("select * from platform.schema_migrations order by migration_name"),
    events: await text("select * from platform.schema_migration_events order by id"),
  };
}

const lock = (relation: string, mode: RehearsedLock["mode"], kind = "table") =>
  expect.objectContaining({ relation, mode, kind });

/** PGlite runs PostgreSQL single-user in WebAssembly, without the timer `statement_timeout` needs. */
const kinds: [string, () => Promise<Target>, { statementTimeout: boolean }][] = [
  ["postgres (pg)", () => postgresTarget("pg"), { statementTimeout: true }],
  ["PGlite", () => pgliteTarget(), { statementTimeout: false }],
  ["postgres-meta (one request)", () => postgresTarget("pg-meta"), { statementTimeout: true }],
];

// Each rehearsal must leave the database as it was: one database per kind serves every test.
describe.each(kinds)("rehearse over %s", (_, open, enforces) => {
  let target: Target;
  let executor: Executor;
  let transport: Transport;

  beforeAll(async () => {
    target = await open();
    executor = target.executor();
    const found = transportOf(executor);
    if (found === undefined) throw new Error("the executor has no transport");
    transport = found;
    // A populated table, created and recorded by an applied migration: the tracking tables exist.
    const engine = createMigrationEngine({
      executor,
      source: memorySource([
        {
          name: "001_users",
          sql: `-- migrate:up\ncreate schema if not exists platform;\ncreate table platform.users (id int primary key, email text not null);\ninsert into platform.users select g, 'user' || g || '@example.com' from generate_series(1, ${ROWS}) g;\n`,
        },
      ]),
    });
    const applied = await engine.apply({ actor: "test:setup" });
    expect(applied.failed).toBeNull();
    await target.query("analyze platform.users");
  });
  afterAll(async () => {
    await target?.dispose();
  });

  it("times each statement and reports the locks it took, leaving schema, data and records as they were", async () => {
    const before = await stateOf(target);

    const outcome = await rehearseOver(
      transport,
      {
        migrations: [
          migration(
            "002_nickname",
            "alter table platform.users add column nickname text;\n\ncreate index users_email_idx on platform.users (email);",
          ),
          migration("003_notes", "create table platform.notes (id int);\nselect 1;", 5),
        ],
      },
      DEFAULT_TIMEOUTS,
    );

    expect(outcome.migrations.map((m) => [m.migrationName, m.status])).toEqual([
      ["002_nickname", "rehearsed"],
      ["003_notes", "rehearsed"],
    ]);
    const [nickname, notes] = outcome.migrations;
    expect(nickname?.statements.map((s) => [s.index, s.line, s.statement, s.error])).toEqual([
      [0, 2, "alter table platform.users add column nickname text", null],
      [1, 4, "create index users_email_idx on platform.users (email)", null],
    ]);
    // ADD COLUMN: ACCESS EXCLUSIVE on the table.
    expect(nickname?.statements[0]?.locks).toEqual([lock("platform.users", "ACCESS EXCLUSIVE")]);
    // CREATE INDEX: SHARE on the table (new: only ACCESS EXCLUSIVE was held), and the new index.
    expect(nickname?.statements[1]?.locks).toEqual(
      expect.arrayContaining([
        lock("platform.users", "SHARE"),
        lock("platform.users_email_idx", "ACCESS EXCLUSIVE", "index"),
      ]),
    );
    expect(notes?.statements[0]?.locks).toEqual([lock("platform.notes", "ACCESS EXCLUSIVE")]);
    expect(notes?.statements[1]?.locks).toEqual([]);
    for (const statement of [...(nickname?.statements ?? []), ...(notes?.statements ?? [])]) {
      // PGlite's clock can read a fast statement as 0 ms.
      expect(statement.elapsedMs).toBeGreaterThanOrEqual(0);
      expect(statement.elapsedMs).toBeLessThan(60_000);
    }
    // Building an index over 3,000 rows takes longer than adding a nullable column.
    expect(nickname?.elapsedMs).toBeCloseTo(
      (nickname?.statements[0]?.elapsedMs ?? 0) + (nickname?.statements[1]?.elapsedMs ?? 0),
      2,
    );

    expect(await stateOf(target)).toEqual(before);
  });

  it("stops at a failing statement, reporting it with what ran before it and Postgres' message", async () => {
    const before = await stateOf(target);

    const outcome = await rehearseOver(
      transport,
      {
        migrations: [
          migration(
            "002_twice",
            "alter table platform.users add column nickname text;\nalter table platform.users add column email text;\ncreate table platform.never (id int);",
          ),
          migration("003_later", "create table platform.later (id int);"),
        ],
      },
      DEFAULT_TIMEOUTS,
    );

    expect(outcome.migrations.map((m) => m.status)).toEqual(["failed", "not_reached"]);
    const statements = outcome.migrations[0]?.statements ?? [];
    expect(statements.map((s) => s.statement)).toEqual([
      "alter table platform.users add column nickname text",
      "alter table platform.users add column email text",
    ]);
    expect(statements[0]?.locks).toEqual([lock("platform.users", "ACCESS EXCLUSIVE")]);
    expect(statements[1]?.error).toMatchObject({
      code: "42701",
      message: 'column "email" of relation "users" already exists',
    });
    expect(statements[1]?.line).toBe(3);
    expect(outcome.migrations[1]?.statements).toEqual([]);
    expect(await stateOf(target)).toEqual(before);
  });

  it("never runs a COMMIT: it is the failure, and what ran before it is rolled back", async () => {
    const before = await stateOf(target);
    const outcome = await rehearseOver(
      transport,
      {
        migrations: [
          migration(
            "002_commits",
            "create table platform.kept (id int);\ncommit;\ncreate table platform.after (id int);",
          ),
        ],
      },
      DEFAULT_TIMEOUTS,
    );
    const statements = outcome.migrations[0]?.statements ?? [];
    expect(statements.map((s) => s.statement)).toEqual([
      "create table platform.kept (id int)",
      "commit",
    ]);
    expect(statements[1]?.error?.message).toMatch(/^Not run in the rehearsal: COMMIT would end/);
    expect(await stateOf(target)).toEqual(before);
  });

  it("counts the relations a table rewrite creates and drops, by mode, as it cannot name them", async () => {
    const before = await stateOf(target);
    const outcome = await rehearseOver(
      transport,
      {
        migrations: [
          migration(
            "002_rewrite",
            "alter table platform.users add column active boolean not null default random() > 0.5;",
          ),
        ],
      },
      DEFAULT_TIMEOUTS,
    );
    const locks = outcome.migrations[0]?.statements[0]?.locks ?? [];
    expect(locks).toEqual(
      expect.arrayContaining([
        lock("platform.users", "ACCESS EXCLUSIVE"),
        lock("platform.users_pkey", "ACCESS EXCLUSIVE", "index"),
      ]),
    );
    const dropped = locks.filter((l) => l.kind === null);
    expect(dropped.map((l) => l.mode)).toEqual(["ACCESS EXCLUSIVE"]);
    expect(dropped[0]?.relation).toMatch(/^\([1-9]\d* relations? dropped by the statement\)$/);
    expect(await stateOf(target)).toEqual(before);
  });

  it("cuts a statement at the statement timeout asked for, and reports it", async () => {
    const outcome = await rehearseOver(
      transport,
      {
        migrations: [migration("002_slow", "select pg_sleep(0.6);")],
        timeouts: { statementTimeoutMs: 100 },
      },
      DEFAULT_TIMEOUTS,
    );
    const [slow] = outcome.migrations[0]?.statements ?? [];
    if (!enforces.statementTimeout) {
      // Known limit of PGlite (applies alike): the statement runs to its end.
      expect(slow?.error).toBeNull();
      expect(slow?.elapsedMs).toBeGreaterThanOrEqual(590);
      return;
    }
    expect(slow?.error).toMatchObject({
      code: "57014",
      message: "canceling statement due to statement timeout",
    });
    // The timer starts with the top-level statement, a little before the statement's own clock.
    expect(slow?.elapsedMs).toBeGreaterThanOrEqual(50);
    expect(slow?.elapsedMs).toBeLessThan(590);
  });

  it("reads the sizes of the relations through the transport", async () => {
    const [users, missing] = await readRelationSizesOver(transport, [
      "platform.users",
      "platform.missing",
    ]);
    expect(users).toMatchObject({
      name: "platform.users",
      exists: true,
      relation: "platform.users",
      kind: "table",
      estimatedRows: ROWS,
    });
    expect(users?.totalBytes).toBeGreaterThan(8192);
    expect(missing).toMatchObject({ exists: false, relation: null });
    expect(await readRelationSizesOver(transport, [])).toEqual([]);
  });
});

describe("rehearse on PostgreSQL, seen from other sessions", () => {
  let target: PostgresTarget;
  let side: pg.Client;
  /** The same database over pg (statement by statement) and postgres-meta (one request). */
  const over: [string, () => Executor][] = [
    ["pg", () => createPostgresExecutor({ connection: target.url })],
    ["postgres-meta", () => target.executor()],
  ];

  beforeAll(async () => {
    target = await postgresTarget("pg-meta");
    side = await target.connect();
    await side.query(
      `create schema platform; create table platform.users (id int primary key, email text not null);
       insert into platform.users select g, 'user' || g || '@example.com' from generate_series(1, ${ROWS}) g;
       analyze platform.users;`,
    );
  });
  afterAll(() => target?.dispose());

  /**
   * The table's write counters once every other backend of the database has exited, which flushes
   * its statistics (an idle one would only after up to 10 s): postgres-meta's idle connection is
   * ended, and the rehearsals' are gone already.
   */
  const counters = async () => {
    const [admin] = await target.query<{ pid: number }>("select pg_backend_pid() as pid");
    const others = `datname = current_database() and pid <> pg_backend_pid() and pid <> ${admin?.pid}`;
    await side.query(`select pg_terminate_backend(pid) from pg_stat_activity where ${others}`);
    // This session's own writes are flushed when it next goes idle.
    await side.query("select pg_stat_force_next_flush()");
    for (let waited = 0; waited < 10_000; waited += 50) {
      const { rows } = await side.query<{ others: number }>(
        `select count(*)::int as others from pg_stat_activity where ${others}`,
      );
      if (rows[0]?.others === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await side.query("select pg_stat_clear_snapshot()");
    const { rows } = await side.query<{ ins: string; upd: string; del: string }>(
      "select n_tup_ins::text as ins, n_tup_upd::text as upd, n_tup_del::text as del from pg_stat_user_tables where relid = 'platform.users'::regclass",
    );
    return rows[0];
  };

  it("leaves pg_stat_user_tables' write counters unchanged, over pg and postgres-meta alike", async () => {
    const before = await counters();
    expect(before).toEqual({ ins: String(ROWS), upd: "0", del: "0" });
    const ddl = [
      migration(
        "002_ddl",
        "alter table platform.users add column nickname text;\ncreate index users_email_idx on platform.users (email);\nalter table platform.users add constraint users_email_check check (email <> '') not valid;",
      ),
    ];
    for (const [kind, make] of over) {
      const executor = make();
      const outcome = await rehearseOver(
        transportOf(executor) as Transport,
        { migrations: ddl },
        DEFAULT_TIMEOUTS,
      );
      expect(outcome.migrations[0]?.status, kind).toBe("rehearsed");
      // ADD CONSTRAINT … CHECK takes ACCESS EXCLUSIVE, which ADD COLUMN already holds.
      expect(
        outcome.migrations[0]?.statements.map((statement) => statement.locks.length),
        kind,
      ).toEqual([1, 2, 0]);
      // Its backends exit, and flush their statistics.
      if (kind === "pg") await executor.close();
      expect(await counters(), kind).toEqual(before);
    }

    // The counters do move when a write commits, seen the same way: the check above can fail.
    const writer = new pg.Client({ connectionString: target.url });
    await writer.connect();
    await writer.query("update platform.users set email = email where id <= 10");
    await writer.end();
    expect(await counters()).toEqual({ ...before, upd: "10" });
  });

  it("reports a lock it had to wait for as the lock timeout it ran into", async () => {
    await side.query("begin; lock table platform.users in access share mode");
    try {
      for (const [kind, make] of over) {
        const executor = make();
        const outcome = await rehearseOver(
          transportOf(executor) as Transport,
          {
            migrations: [
              migration("002_wait", "alter table platform.users add column nickname text;"),
            ],
            timeouts: { lockTimeoutMs: 100 },
          },
          DEFAULT_TIMEOUTS,
        );
        if (kind === "pg") await executor.close();
        expect(outcome.migrations[0]?.statements[0]?.error, kind).toMatchObject({
          code: "55P03",
          message: "canceling statement due to lock timeout",
        });
      }
    } finally {
      await side.query("rollback");
    }
  });

  it("answers the same locks in one request (the postgres-meta shape) as statement by statement", async () => {
    const migrations = [
      migration(
        "002_shapes",
        "alter table platform.users add column nickname text;\ncreate index users_email_idx on platform.users (email);\n-- a comment ends it\nselect 1",
      ),
    ];
    const executor = createPostgresExecutor({ connection: target.url });
    try {
      const transport = transportOf(executor) as Transport;
      const bySession = await rehearseOver(transport, { migrations }, DEFAULT_TIMEOUTS);
      const answer = await transport.query(rehearsalBatch(migrations, DEFAULT_TIMEOUTS));
      if (answer.kind !== "rows") throw new Error(`the batch failed: ${JSON.stringify(answer)}`);
      const inOneRequest = parseRehearsalBatch(migrations, answer.rows);
      const locksOf = (outcome: typeof bySession) =>
        outcome.migrations.map((m) => m.statements.map((s) => [s.statement, s.locks]));
      expect(locksOf(bySession)[0]?.[0]?.[1]).toEqual([lock("platform.users", "ACCESS EXCLUSIVE")]);
      expect(locksOf(inOneRequest)).toEqual(locksOf(bySession));
    } finally {
      await executor.close();
    }
    const { rows } = await side.query(
      "select count(*)::int as columns from information_schema.columns where table_schema = 'platform' and column_name = 'nickname'",
    );
    expect(rows).toEqual([{ columns: 0 }]);
  });
});
