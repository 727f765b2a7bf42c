import type { RelationLockHolder, RelationSize } from "@studio/migrations-core";
import { beforeAll, describe, expect, it } from "vitest";
import { LINT_RULES, type Linter, type LintRuleId, loadLinter } from "./index.ts";
import { migrations, up, upOutsideTransaction } from "./test-support.ts";

let linter: Linter;
beforeAll(async () => {
  linter = await loadLinter();
});

/** The rule ids found, in order (ignored ones left out). */
const rulesOf = (linted: ReturnType<typeof up>, sizes?: readonly RelationSize[]) =>
  linter.lint(linted, sizes === undefined ? {} : { sizes }).findings.map((f) => f.rule);

function size(name: string, overrides: Partial<RelationSize> = {}): RelationSize {
  return {
    name,
    exists: true,
    relation: name,
    kind: "table",
    estimatedRows: 1_200_000,
    totalBytes: 380 * 1024 * 1024,
    lockHolders: [],
    ...overrides,
  };
}

function holder(mode: string, overrides: Partial<RelationLockHolder> = {}): RelationLockHolder {
  return {
    pid: 4242,
    mode,
    granted: true,
    user: "app",
    applicationName: "api",
    state: "idle in transaction",
    since: "2026-12-01T10:00:00.000Z",
    query: "select * from platform.users for update",
    ...overrides,
  };
}

/** For each rule: statements that trip it, and the safe way that does not. */
const cases: Record<LintRuleId, { positive: () => void; negative: () => void }> = {
  "index-not-concurrent": {
    positive: () => {
      const report = linter.lint(up("create index users_email_idx on platform.users (email);"));
      expect(report.findings).toMatchObject([
        {
          rule: "index-not-concurrent",
          level: "error",
          lock: "SHARE",
          relation: "platform.users",
          line: 2,
          statement: "create index users_email_idx on platform.users (email)",
        },
      ]);
      expect(report.findings[0]?.message).toContain(
        "locks platform.users SHARE until the migration commits",
      );
    },
    negative: () => {
      expect(
        rulesOf(
          upOutsideTransaction(
            "create index concurrently users_email_idx on platform.users (email);",
          ),
        ),
      ).toEqual([]);
      // A table created earlier in the run is empty: a plain CREATE INDEX on it is fine.
      expect(
        rulesOf(
          migrations(
            "-- migrate:up\ncreate table platform.teams (id int);\n",
            "-- migrate:up\ncreate index teams_id_idx on platform.teams (id);\n",
          ),
        ),
      ).toEqual([]);
    },
  },
  "concurrently-in-transaction": {
    positive: () => {
      expect(rulesOf(up("create index concurrently i on platform.users (email);"))).toEqual([
        "concurrently-in-transaction",
      ]);
      expect(rulesOf(up("drop index concurrently platform.i;"))).toEqual([
        "concurrently-in-transaction",
      ]);
      expect(rulesOf(up("reindex (concurrently) table platform.users;"))).toEqual([
        "concurrently-in-transaction",
      ]);
      // A DO block is a function: PostgreSQL refuses CONCURRENTLY there whatever the migration says.
      const inBlock = linter.lint(
        upOutsideTransaction(
          "do $$ begin\n  create index concurrently i on platform.users (email);\nend $$;",
        ),
      );
      expect(inBlock.findings).toMatchObject([
        { rule: "concurrently-in-transaction", line: 3, inDoBlock: true },
      ]);
      expect(inBlock.findings[0]?.message).toContain("cannot run inside a DO block");
    },
    negative: () => {
      expect(
        rulesOf(upOutsideTransaction("create index concurrently i on platform.users (email);")),
      ).toEqual([]);
      expect(rulesOf(upOutsideTransaction("drop index concurrently platform.i;"))).toEqual([]);
    },
  },
  "add-column-volatile-default": {
    positive: () => {
      for (const column of [
        "token uuid default gen_random_uuid()",
        "created timestamptz default clock_timestamp()",
        "n bigserial",
        "n int generated always as identity",
        "doubled int generated always as (id * 2) stored",
      ]) {
        expect(rulesOf(up(`alter table platform.users add column ${column};`)), column).toEqual([
          "add-column-volatile-default",
        ]);
      }
      // A function the lint knows nothing of: PostgreSQL makes it VOLATILE unless it says otherwise.
      const unknown = linter.lint(
        up("alter table platform.users add column r text default app.make_ref();"),
      );
      expect(unknown.findings[0]?.message).toContain(
        "calling app.make_ref(), which the lint cannot see",
      );
      // One created earlier in the run and declared volatile (as 004's generate_project_ref is).
      expect(
        rulesOf(
          migrations(
            "-- migrate:up\ncreate function platform.ref() returns text language sql volatile as $$ select 'x' $$;\n",
            "-- migrate:up\nalter table platform.projects add column ref2 text default platform.ref();\n",
          ),
        ),
      ).toEqual(["add-column-volatile-default"]);
    },
    negative: () => {
      for (const column of [
        "created timestamptz not null default now()",
        "state text not null default 'active'",
        "n int default 0",
        "meta jsonb not null default '{}'::jsonb",
        "at timestamptz default current_timestamp",
        "note text",
      ]) {
        expect(rulesOf(up(`alter table platform.users add column ${column};`)), column).toEqual([]);
      }
      expect(
        rulesOf(
          migrations(
            "-- migrate:up\ncreate function platform.today() returns date language sql stable as $$ select current_date $$;\n",
            "-- migrate:up\nalter table platform.users add column d date default platform.today();\n",
          ),
        ),
      ).toEqual([]);
    },
  },
  "add-column-not-null-without-default": {
    positive: () => {
      expect(rulesOf(up("alter table platform.users add column plan text not null;"))).toEqual([
        "add-column-not-null-without-default",
      ]);
    },
    negative: () => {
      expect(
        rulesOf(up("alter table platform.users add column plan text not null default 'free';")),
      ).toEqual([]);
    },
  },
  "not-null-without-check": {
    positive: () => {
      const report = linter.lint(
        up("alter table platform.users alter column display_name set not null;"),
      );
      expect(report.findings).toMatchObject([
        { rule: "not-null-without-check", lock: "ACCESS EXCLUSIVE", relation: "platform.users" },
      ]);
      expect(
        rulesOf(up("alter table platform.users add constraint n not null display_name;")),
      ).toEqual(["not-null-without-check"]);
      // A NOT VALID check proves nothing until it is validated.
      expect(
        rulesOf(
          up(`alter table platform.users add constraint dn check (display_name is not null) not valid;
alter table platform.users alter column display_name set not null;`),
        ),
      ).toEqual(["not-null-without-check"]);
    },
    negative: () => {
      expect(
        rulesOf(
          up(`alter table platform.users add constraint dn check (display_name is not null) not valid;
alter table platform.users validate constraint dn;
alter table platform.users alter column display_name set not null;
alter table platform.users drop constraint dn;`),
        ),
      ).toEqual([]);
    },
  },
  "foreign-key-not-valid": {
    positive: () => {
      const report = linter.lint(
        up(
          "alter table platform.users add constraint users_org_fkey foreign key (org_id) references platform.organizations (id);",
        ),
      );
      expect(report.findings).toMatchObject([
        { rule: "foreign-key-not-valid", lock: "SHARE ROW EXCLUSIVE", relation: "platform.users" },
      ]);
      expect(report.findings[0]?.message).toContain("on it and on platform.organizations");
      expect(
        rulesOf(
          up(
            "alter table platform.users add column org_id uuid references platform.organizations (id);",
          ),
        ),
      ).toEqual(["foreign-key-not-valid"]);
    },
    negative: () => {
      expect(
        rulesOf(
          up(`alter table platform.users add constraint users_org_fkey foreign key (org_id) references platform.organizations (id) not valid;
alter table platform.users validate constraint users_org_fkey;`),
        ),
      ).toEqual([]);
    },
  },
  "check-not-valid": {
    positive: () => {
      expect(
        rulesOf(up("alter table platform.users add constraint e check (email <> '');")),
      ).toEqual(["check-not-valid"]);
    },
    negative: () => {
      expect(
        rulesOf(up("alter table platform.users add constraint e check (email <> '') not valid;")),
      ).toEqual([]);
    },
  },
  "unique-without-index": {
    positive: () => {
      expect(rulesOf(up("alter table platform.users add constraint u unique (email);"))).toEqual([
        "unique-without-index",
      ]);
      expect(rulesOf(up("alter table platform.users add primary key (id);"))).toEqual([
        "unique-without-index",
      ]);
    },
    negative: () => {
      expect(
        rulesOf(
          migrations(
            "-- migrate:up transaction:false\ncreate unique index concurrently users_email_key on platform.users (email);\n",
            "-- migrate:up\nalter table platform.users add constraint users_email_key unique using index users_email_key;\n",
          ),
        ),
      ).toEqual([]);
    },
  },
  "alter-column-type": {
    positive: () => {
      const report = linter.lint(up("alter table platform.users alter column id type bigint;"));
      expect(report.findings).toMatchObject([
        { rule: "alter-column-type", lock: "ACCESS EXCLUSIVE" },
      ]);
      const widening = linter.lint(
        up("alter table platform.users alter column email type varchar(320);"),
      );
      expect(widening.findings[0]?.message).toContain("varchar(n) → varchar(m ≥ n)");
    },
    negative: () => {
      expect(
        rulesOf(
          up(`create table platform.t (a int);
alter table platform.t alter column a type bigint;`),
        ),
      ).toEqual([]);
    },
  },
  "rewrite-table": {
    positive: () => {
      for (const sql of [
        "vacuum full platform.users;",
        "vacuum (full, analyze) platform.users;",
        "cluster platform.users using users_pkey;",
        "alter table platform.users set tablespace fast;",
        "alter table platform.users set logged;",
      ]) {
        expect(rulesOf(upOutsideTransaction(sql)), sql).toEqual(["rewrite-table"]);
      }
    },
    negative: () => {
      expect(rulesOf(upOutsideTransaction("vacuum (analyze) platform.users;"))).toEqual([]);
      expect(rulesOf(upOutsideTransaction("vacuum (full false) platform.users;"))).toEqual([]);
    },
  },
  "reindex-not-concurrent": {
    positive: () => {
      expect(rulesOf(up("reindex table platform.users;"))).toEqual(["reindex-not-concurrent"]);
      expect(linter.lint(up("reindex index platform.users_pkey;")).findings).toMatchObject([
        {
          rule: "reindex-not-concurrent",
          lock: "ACCESS EXCLUSIVE",
          relation: "platform.users_pkey",
        },
      ]);
    },
    negative: () => {
      expect(rulesOf(upOutsideTransaction("reindex (concurrently) table platform.users;"))).toEqual(
        [],
      );
    },
  },
  "drop-table": {
    positive: () => {
      expect(linter.lint(up("drop table platform.legacy;")).findings).toMatchObject([
        {
          rule: "drop-table",
          level: "warning",
          lock: "ACCESS EXCLUSIVE",
          relation: "platform.legacy",
        },
      ]);
    },
    negative: () => {
      expect(
        rulesOf(up("create table platform.scratch (a int);\ndrop table platform.scratch;")),
      ).toEqual([]);
    },
  },
  "drop-column": {
    positive: () => {
      expect(rulesOf(up("alter table platform.users drop column display_name;"))).toEqual([
        "drop-column",
      ]);
    },
    negative: () => {
      expect(
        rulesOf(
          up("create table platform.t (a int, b int);\nalter table platform.t drop column b;"),
        ),
      ).toEqual([]);
    },
  },
  "rename-table": {
    positive: () => {
      expect(rulesOf(up("alter table platform.users rename to accounts;"))).toEqual([
        "rename-table",
      ]);
    },
    negative: () => {
      expect(
        rulesOf(up("create table platform.t (a int);\nalter table platform.t rename to u;")),
      ).toEqual([]);
    },
  },
  "rename-column": {
    positive: () => {
      expect(rulesOf(up("alter table platform.users rename column display_name to name;"))).toEqual(
        ["rename-column"],
      );
    },
    negative: () => {
      expect(
        rulesOf(
          up("create table platform.t (a int);\nalter table platform.t rename column a to b;"),
        ),
      ).toEqual([]);
    },
  },
  truncate: {
    positive: () => {
      expect(rulesOf(up("truncate platform.audit_logs;"))).toEqual(["truncate"]);
    },
    negative: () => {
      expect(rulesOf(up("create table platform.t (a int);\ntruncate platform.t;"))).toEqual([]);
    },
  },
  "full-table-update": {
    positive: () => {
      expect(linter.lint(up("update platform.users set plan = 'free';")).findings).toMatchObject([
        {
          rule: "full-table-update",
          level: "warning",
          lock: "ROW EXCLUSIVE",
          relation: "platform.users",
        },
      ]);
      expect(rulesOf(up("delete from platform.sessions;"))).toEqual(["full-table-update"]);
    },
    negative: () => {
      expect(rulesOf(up("update platform.users set plan = 'free' where id = 1;"))).toEqual([]);
      expect(
        rulesOf(
          up(
            "create table platform.t (a int);\ninsert into platform.t values (1);\nupdate platform.t set a = 2;",
          ),
        ),
      ).toEqual([]);
    },
  },
  "lock-table": {
    positive: () => {
      expect(linter.lint(up("lock table platform.users in share mode;")).findings).toMatchObject([
        { rule: "lock-table", lock: "SHARE", relation: "platform.users" },
      ]);
      // Outside a transaction block PostgreSQL refuses LOCK TABLE outright.
      expect(
        linter.lint(upOutsideTransaction("lock table platform.users;")).findings[0]?.message,
      ).toContain("fails");
    },
    negative: () => {
      expect(rulesOf(up("create table platform.t (a int);\nlock table platform.t;"))).toEqual([]);
    },
  },
  "lock-wait": {
    positive: () => {
      const sizes = [size("platform.users", { lockHolders: [holder("ROW EXCLUSIVE")] })];
      const report = linter.lint(up("alter table platform.users add column note text;"), { sizes });
      expect(report.findings).toMatchObject([
        {
          rule: "lock-wait",
          lock: "ACCESS EXCLUSIVE",
          relation: "platform.users",
          blockedBy: [{ pid: 4242, mode: "ROW EXCLUSIVE" }],
        },
      ]);
      expect(report.findings[0]?.message).toBe(
        'This statement needs ACCESS EXCLUSIVE on platform.users (≈1.2 M rows, 380 MB), which conflicts with pid 4242 (api) holding ROW EXCLUSIVE since 2026-12-01T10:00:00.000Z, idle in transaction: "select * from platform.users for update". While it waits, every later query on platform.users that needs a conflicting lock queues behind it.',
      );
      // A session queued ahead conflicts as much as one holding the lock.
      const queued = [
        size("platform.users", { lockHolders: [holder("ACCESS SHARE", { granted: false })] }),
      ];
      expect(rulesOf(up("alter table platform.users add column note text;"), queued)).toEqual([
        "lock-wait",
      ]);
    },
    negative: () => {
      // CREATE INDEX CONCURRENTLY's SHARE UPDATE EXCLUSIVE does not conflict with readers or writers.
      const sizes = [
        size("platform.users", {
          lockHolders: [holder("ACCESS SHARE"), holder("ROW EXCLUSIVE", { pid: 7 })],
        }),
      ];
      expect(
        rulesOf(
          upOutsideTransaction("create index concurrently i on platform.users (email);"),
          sizes,
        ),
      ).toEqual([]);
      // Without a target there is nobody to wait for.
      expect(rulesOf(up("alter table platform.users add column note text;"))).toEqual([]);
    },
  },
  "do-block-opaque": {
    positive: () => {
      const report = linter.lint(
        up("do language plv8 $$ plv8.execute('drop table platform.users') $$;"),
      );
      expect(report.findings).toMatchObject([
        { rule: "do-block-opaque", level: "warning", line: 2 },
      ]);
      expect(report.findings[0]?.message).toContain(
        "Cannot see inside this DO block: it is written in plv8",
      );
      expect(rulesOf(up("do $$ begin if then end if; end $$;"))).toEqual(["do-block-opaque"]);
    },
    negative: () => {
      expect(rulesOf(up("do $$ begin perform 1; end $$;"))).toEqual([]);
    },
  },
  "dynamic-sql": {
    positive: () => {
      const report = linter.lint(
        up("do $$\nbegin\n  execute format('create index on %I (a)', 't');\nend\n$$;"),
      );
      expect(report.findings).toMatchObject([
        { rule: "dynamic-sql", level: "info", line: 4, inDoBlock: true },
      ]);
    },
    negative: () => {
      expect(rulesOf(up("do $$\nbegin\n  create index i on platform.t (a);\nend\n$$;"))).toEqual([
        "index-not-concurrent",
      ]);
    },
  },
  "syntax-error": {
    positive: () => {
      const report = linter.lint(
        up(
          "create table platform.a (id int);\ncreat table platform.b (id int);\ndrop table platform.users;",
        ),
      );
      // The refused statement at its line, and the statements around it still linted.
      expect(report.findings.map((f) => [f.rule, f.line])).toEqual([
        ["syntax-error", 3],
        ["drop-table", 4],
      ]);
    },
    negative: () => {
      expect(rulesOf(up("create table platform.b (id int);"))).toEqual([]);
    },
  },
  "lint-ignore-unknown-rule": {
    positive: () => {
      const report = linter.lint(
        up(
          "-- lint:ignore index-not-concurent the table is small\ncreate index i on platform.users (email);",
        ),
      );
      expect(report.findings.map((f) => [f.rule, f.line])).toEqual([
        ["lint-ignore-unknown-rule", 2],
        ["index-not-concurrent", 3],
      ]);
    },
    negative: () => {
      const report = linter.lint(
        up(
          "-- lint:ignore index-not-concurrent the table is small\ncreate index i on platform.users (email);",
        ),
      );
      expect(report.findings).toEqual([]);
      expect(report.ignored).toHaveLength(1);
    },
  },
};

describe("each rule", () => {
  for (const rule of LINT_RULES) {
    describe(rule.id, () => {
      it("finds what it is about", () => cases[rule.id].positive());
      it("passes the safe way", () => cases[rule.id].negative());
    });
  }
});

describe("the rules table", () => {
  it("has stable, unique ids, and each rule says its level, why and the safe way", () => {
    expect(new Set(LINT_RULES.map((r) => r.id)).size).toBe(LINT_RULES.length);
    for (const rule of LINT_RULES) {
      expect(rule.id).toMatch(/^[a-z]+(?:-[a-z]+)*$/);
      expect(["error", "warning", "info"]).toContain(rule.level);
      expect(rule.why.length).toBeGreaterThan(20);
      expect(rule.fix.length).toBeGreaterThan(10);
    }
  });
});
