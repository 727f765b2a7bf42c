import type { Migration, TableLockMode } from "@studio/migrations-core";
import { parseRelationSizes, relationSizesSql } from "@studio/migrations-postgres";
import { createTestDatabase, type TestDatabase } from "@studio/test-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Linter, type LintReport, type LintRuleId, loadLinter } from "./index.ts";
import { strongerLockMode, TABLE_LOCK_MODES } from "./lock-modes.ts";
import { up, upOutsideTransaction } from "./test-support.ts";

// Each table rule against a real PostgreSQL with a populated, analyzed table: the finding carries
// the size the catalog has, and the lock it states is the lock PostgreSQL takes (read from pg_locks
// of the backend running the statement, inside a transaction that is rolled back).

const ROWS = 200_000;

let database: TestDatabase;
let client: pg.Client;
let linter: Linter;

beforeAll(async () => {
  linter = await loadLinter();
  database = await createTestDatabase("lint_live");
  client = new pg.Client({ connectionString: database.url });
  await client.connect();
  await client.query(`
    create schema lint;
    create table lint.orgs (id int primary key);
    insert into lint.orgs select g from generate_series(1, 100) g;
    create table lint.t (
      id int primary key,
      email text not null,
      nickname text,
      org_id int,
      amount numeric(10, 2)
    );
    insert into lint.t
      select g, 'user' || g || '@example.com', 'n' || g, 1 + g % 100, g / 100.0
      from generate_series(1, ${ROWS}) g;
    create index t_org_id_idx on lint.t (org_id);
    analyze lint.orgs, lint.t;
  `);
});

afterAll(async () => {
  await client?.end();
  await database?.drop();
});

/** Lints against the live database: sizes fetched as the engine will, with relation-sizes' SQL. */
async function lintLive(migrations: readonly Migration[]): Promise<LintReport> {
  const names = linter.relationsToSize(migrations);
  const sizes = parseRelationSizes((await client.query(relationSizesSql(names))).rows);
  return linter.lint(migrations, { sizes });
}

/** What the catalog says of a table, as a finding should carry it. */
async function catalogSize(table: string): Promise<{ estimatedRows: number; totalBytes: number }> {
  const { rows } = await client.query<{ reltuples: number; total: string }>(
    "select reltuples::float8 as reltuples, pg_total_relation_size(oid)::text as total from pg_class where oid = $1::regclass",
    [table],
  );
  return {
    estimatedRows: Math.round(rows[0]?.reltuples ?? -1),
    totalBytes: Number(rows[0]?.total),
  };
}

/**
 * Runs `sql` in a transaction that is rolled back, and answers the strongest lock its backend held
 * on `table` (and whether the table's storage was rewritten: a new relfilenode).
 */
async function locksTaken(sql: string, table: string) {
  const { rows: before } = await client.query<{ oid: number; relfilenode: number }>(
    "select oid::int, relfilenode::int from pg_class where oid = $1::regclass",
    [table],
  );
  const oid = before[0]?.oid;
  await client.query("begin");
  try {
    await client.query(sql);
    const { rows } = await client.query<{ mode: string }>(
      "select mode from pg_locks where pid = pg_backend_pid() and locktype = 'relation' and relation = $1",
      [oid],
    );
    const { rows: after } = await client.query<{ relfilenode: number }>(
      "select relfilenode::int from pg_class where oid = $1",
      [oid],
    );
    const modes = rows.map((row) =>
      TABLE_LOCK_MODES.find(
        (mode) =>
          mode.replaceAll(" ", "").toLowerCase() === row.mode.replace(/Lock$/, "").toLowerCase(),
      ),
    );
    let strongest: TableLockMode | null = null;
    for (const mode of modes) {
      if (mode !== undefined)
        strongest = strongest === null ? mode : strongerLockMode(strongest, mode);
    }
    return {
      strongest,
      rewritten: after[0] !== undefined && after[0].relfilenode !== before[0]?.relfilenode,
    };
  } finally {
    await client.query("rollback");
  }
}

/** A table rule's case on the live table: the statement that trips it, and the safe way. */
interface LiveCase {
  rule: LintRuleId;
  sql: string;
  /** Whether PostgreSQL copies the table to run it (it should, for the rewrite rules). */
  rewrites?: boolean;
  safe: { sql: string; transactional: boolean };
}

const cases: LiveCase[] = [
  {
    rule: "index-not-concurrent",
    sql: "create index t_email_idx on lint.t (email)",
    safe: { sql: "create index concurrently t_email_idx on lint.t (email)", transactional: false },
  },
  {
    rule: "add-column-volatile-default",
    sql: "alter table lint.t add column token uuid default gen_random_uuid()",
    rewrites: true,
    safe: {
      sql: "alter table lint.t add column created timestamptz not null default now()",
      transactional: true,
    },
  },
  {
    rule: "not-null-without-check",
    sql: "alter table lint.t alter column nickname set not null",
    safe: {
      sql: `alter table lint.t add constraint t_nickname_nn check (nickname is not null) not valid;
alter table lint.t validate constraint t_nickname_nn;
alter table lint.t alter column nickname set not null;
alter table lint.t drop constraint t_nickname_nn`,
      transactional: true,
    },
  },
  {
    rule: "foreign-key-not-valid",
    sql: "alter table lint.t add constraint t_org_fkey foreign key (org_id) references lint.orgs (id)",
    safe: {
      sql: `alter table lint.t add constraint t_org_fkey foreign key (org_id) references lint.orgs (id) not valid;
alter table lint.t validate constraint t_org_fkey`,
      transactional: true,
    },
  },
  {
    rule: "check-not-valid",
    sql: "alter table lint.t add constraint t_amount_check check (amount >= 0)",
    safe: {
      sql: "alter table lint.t add constraint t_amount_check check (amount >= 0) not valid",
      transactional: true,
    },
  },
  {
    rule: "unique-without-index",
    sql: "alter table lint.t add constraint t_email_key unique (email)",
    safe: {
      sql: "alter table lint.t add constraint t_email_key unique using index t_email_key",
      transactional: true,
    },
  },
  {
    rule: "alter-column-type",
    sql: "alter table lint.t alter column id type bigint",
    rewrites: true,
    safe: { sql: "alter table lint.t add column id_big bigint", transactional: true },
  },
  {
    rule: "rewrite-table",
    sql: "cluster lint.t using t_pkey",
    rewrites: true,
    safe: { sql: "vacuum (analyze) lint.t", transactional: false },
  },
  {
    rule: "reindex-not-concurrent",
    sql: "reindex table lint.t",
    safe: { sql: "reindex (concurrently) table lint.t", transactional: false },
  },
  {
    rule: "drop-column",
    sql: "alter table lint.t drop column nickname",
    safe: {
      sql: "comment on column lint.t.nickname is 'unused since 2026-11: drop later'",
      transactional: true,
    },
  },
  {
    rule: "rename-column",
    sql: "alter table lint.t rename column nickname to handle",
    safe: { sql: "alter table lint.t add column handle text", transactional: true },
  },
  {
    rule: "rename-table",
    sql: "alter table lint.t rename to users",
    safe: { sql: "create view lint.users as select * from lint.t", transactional: true },
  },
  {
    rule: "truncate",
    sql: "truncate lint.t cascade",
    safe: { sql: "delete from lint.t where id < 0", transactional: true },
  },
  {
    rule: "full-table-update",
    sql: "update lint.t set nickname = upper(nickname)",
    safe: {
      sql: "update lint.t set nickname = upper(nickname) where id between 1 and 2000",
      transactional: true,
    },
  },
  {
    rule: "lock-table",
    sql: "lock table lint.t in share mode",
    safe: { sql: "select count(*) from lint.t", transactional: true },
  },
  {
    rule: "drop-table",
    sql: "drop table lint.t cascade",
    safe: { sql: "drop table if exists lint.t_retired", transactional: true },
  },
];

describe("on a live PostgreSQL with a populated table", () => {
  for (const { rule, sql, rewrites, safe } of cases) {
    describe(rule, () => {
      it("is found, with the table's size from the catalog and the lock PostgreSQL takes", async () => {
        const report = await lintLive(up(`${sql};`));
        expect(report.findings.map((f) => f.rule)).toEqual([rule]);
        const [finding] = report.findings;
        expect(finding?.relation).toBe("lint.t");
        expect(finding?.size).toMatchObject(await catalogSize("lint.t"));
        expect(finding?.size?.estimatedRows).toBe(ROWS);
        expect(finding?.message).toMatch(/lint\.t \(≈200 k rows, \d+(\.\d)? MB\)/);

        const taken = await locksTaken(sql, "lint.t");
        expect(taken.strongest).toBe(finding?.lock);
        if (rewrites !== undefined) expect(taken.rewritten).toBe(rewrites);
      });

      it("passes the safe way", async () => {
        const migrations = safe.transactional
          ? up(`${safe.sql};`)
          : upOutsideTransaction(`${safe.sql};`);
        expect((await lintLive(migrations)).findings).toEqual([]);
      });
    });
  }

  it("add-column-volatile-default: a STABLE default does not rewrite, as the lint says", async () => {
    const sql = "alter table lint.t add column created timestamptz not null default now()";
    expect((await lintLive(up(`${sql};`))).findings).toEqual([]);
    expect(await locksTaken(sql, "lint.t")).toEqual({
      strongest: "ACCESS EXCLUSIVE",
      rewritten: false,
    });
  });

  it("add-column-not-null-without-default: PostgreSQL refuses it on a table with rows, as the lint says", async () => {
    const sql = "alter table lint.t add column plan text not null";
    const report = await lintLive(up(`${sql};`));
    expect(report.findings).toMatchObject([
      {
        rule: "add-column-not-null-without-default",
        relation: "lint.t",
        size: await catalogSize("lint.t"),
      },
    ]);
    await expect(locksTaken(sql, "lint.t")).rejects.toMatchObject({ code: "23502" });
  });

  it("concurrently-in-transaction: PostgreSQL refuses it in a transaction, as the lint says", async () => {
    const sql = "create index concurrently t_email_idx on lint.t (email)";
    expect((await lintLive(up(`${sql};`))).findings.map((f) => f.rule)).toEqual([
      "concurrently-in-transaction",
    ]);
    await expect(locksTaken(sql, "lint.t")).rejects.toMatchObject({ code: "25001" });
  });

  it("lock-wait: names the session holding a conflicting lock right now, and only while it does", async () => {
    const holder = new pg.Client({
      connectionString: database.url,
      application_name: "lint-writer",
    });
    await holder.connect();
    try {
      await holder.query("begin");
      await holder.query("update lint.t set nickname = nickname where id = 1");
      const pid = (await holder.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]
        ?.pid;

      const report = await lintLive(up("alter table lint.t add column note text;"));
      expect(report.findings).toMatchObject([
        {
          rule: "lock-wait",
          lock: "ACCESS EXCLUSIVE",
          relation: "lint.t",
          size: await catalogSize("lint.t"),
          blockedBy: [
            { pid, mode: "ROW EXCLUSIVE", granted: true, applicationName: "lint-writer" },
          ],
        },
      ]);
      expect(report.findings[0]?.message).toContain(
        `pid ${pid} (lint-writer) holding ROW EXCLUSIVE`,
      );
      // Building an index CONCURRENTLY does not wait for writers.
      expect(
        (await lintLive(upOutsideTransaction("create index concurrently i on lint.t (email);")))
          .findings,
      ).toEqual([]);
    } finally {
      await holder.query("rollback");
      await holder.end();
    }
    expect((await lintLive(up("alter table lint.t add column note text;"))).findings).toEqual([]);
  });
});
