import type { RelationLockHolder, RelationSize } from "@studio/migrations-core";
import { beforeAll, describe, expect, it } from "vitest";
import { type Linter, loadLinter } from "./index.ts";
import { migrations, up, upOutsideTransaction } from "./test-support.ts";

let linter: Linter;
beforeAll(async () => {
  linter = await loadLinter();
});

function size(name: string, overrides: Partial<RelationSize> = {}): RelationSize {
  return {
    name,
    exists: true,
    relation: name,
    kind: "table",
    estimatedRows: 1_234_567,
    totalBytes: 398_458_880,
    lockHolders: [],
    ...overrides,
  };
}

const missing = (name: string): RelationSize => ({
  name,
  exists: false,
  relation: null,
  kind: null,
  estimatedRows: null,
  totalBytes: null,
  lockHolders: [],
});

const holder: RelationLockHolder = {
  pid: 811,
  mode: "ROW EXCLUSIVE",
  granted: true,
  user: "app",
  applicationName: "worker",
  state: "active",
  since: "2026-12-01T09:00:00.000Z",
  query: "update platform.users set last_sign_in_at = now() where id = $1",
};

describe("existing tables", () => {
  it("without sizes, a table the run did not create is assumed to exist", () => {
    expect(
      linter.lint(up("create index i on app.events (at);")).findings.map((f) => f.rule),
    ).toEqual(["index-not-concurrent"]);
  });

  it("with sizes, existence comes from the target: a table it does not have is not at risk", () => {
    const linted = up("create index i on app.events (at);");
    expect(linter.lint(linted, { sizes: [missing("app.events")] }).findings).toEqual([]);
    expect(linter.lint(linted, { sizes: [size("app.events")] }).findings).toHaveLength(1);
  });

  it("a table created in an earlier pending migration is new, whatever the target says", () => {
    const linted = migrations(
      "-- migrate:up\ncreate table app.events (at timestamptz);\n",
      "-- migrate:up\ncreate index events_at_idx on app.events (at);\nalter table app.events alter column at set not null;\n",
    );
    expect(linter.lint(linted).findings).toEqual([]);
    expect(linter.lint(linted, { sizes: [missing("app.events")] }).findings).toEqual([]);
  });

  it("CREATE TABLE IF NOT EXISTS of a table the target has creates nothing: the table stays live", () => {
    const linted = up(
      "create table if not exists app.events (at timestamptz);\ncreate index events_at_idx on app.events (at);",
    );
    expect(linter.lint(linted).findings).toEqual([]);
    expect(
      linter.lint(linted, { sizes: [size("app.events")] }).findings.map((f) => f.rule),
    ).toEqual(["index-not-concurrent"]);
    expect(linter.lint(linted, { sizes: [missing("app.events")] }).findings).toEqual([]);
  });

  it("CREATE INDEX IF NOT EXISTS of an index the target has builds nothing", () => {
    const linted = up("create index if not exists events_at_idx on app.events (at);");
    expect(
      linter.lint(linted, {
        sizes: [size("app.events"), size("app.events_at_idx", { kind: "index" })],
      }).findings,
    ).toEqual([]);
    expect(
      linter.lint(linted, { sizes: [size("app.events"), missing("app.events_at_idx")] }).findings,
    ).toHaveLength(1);
  });

  it("a table dropped earlier in the run is gone; one re-created after is new", () => {
    expect(
      linter.lint(
        up(`-- lint:ignore drop-table replaced below
drop table app.events;
create table app.events (at timestamptz);
create index events_at_idx on app.events (at);`),
      ).findings,
    ).toEqual([]);
  });

  it("a renamed table keeps its size under its new name", () => {
    const report = linter.lint(
      up(`-- lint:ignore rename-table no reader left
alter table app.events rename to events_old;
create index i on app.events_old (at);`),
      { sizes: [size("app.events")] },
    );
    expect(report.findings).toMatchObject([
      { rule: "index-not-concurrent", relation: "app.events_old", size: { name: "app.events" } },
    ]);
  });

  it("an unqualified name the target resolves to a table created in the run is new", () => {
    const linted = up("create table app.events (at timestamptz);\ncreate index i on events (at);");
    expect(linter.lint(linted).findings).toEqual([]);
    expect(
      linter.lint(linted, { sizes: [size("events", { relation: "app.events" })] }).findings,
    ).toEqual([]);
  });
});

describe("relationsToSize", () => {
  it("names, once and in order, every relation whose existence the target decides", () => {
    const linted = migrations(
      `-- migrate:up
create table app.teams (id int, org uuid references app.orgs (id));
create index teams_id_idx on app.teams (id);
create table if not exists app.settings (k text);
alter table app.users add column team int;
create index if not exists users_team_idx on app.users (team);
`,
      `-- migrate:up transaction:false
create index concurrently users_email_idx on "App"."Users" (email);
drop table app.users;
`,
    );
    expect(linter.relationsToSize(linted)).toEqual([
      "app.orgs",
      "app.settings",
      "app.users",
      "app.users_team_idx",
      '"App"."Users"',
    ]);
  });

  it("is what the findings need: each finding's relation was among the names", () => {
    const linted = up(`alter table app.a add column x int default random();
create index i on app.b (x);
drop table app.c;
lock table app.d;`);
    const names = linter.relationsToSize(linted);
    const sizes = names.map((name) => size(name));
    const report = linter.lint(linted, { sizes });
    expect(report.findings.length).toBe(4);
    for (const finding of report.findings) expect(names).toContain(finding.relation);
    expect(report.findings.every((f) => f.size !== null)).toBe(true);
  });
});

describe("sizes in findings", () => {
  it("say the table's estimated rows and bytes", () => {
    const report = linter.lint(up("alter table platform.users alter column id type bigint;"), {
      sizes: [size("platform.users")],
    });
    expect(report.live).toBe(true);
    expect(report.findings[0]).toMatchObject({
      relation: "platform.users",
      size: { estimatedRows: 1_234_567, totalBytes: 398_458_880 },
    });
    expect(report.findings[0]?.message).toBe(
      "SET DATA TYPE bigint on column id of platform.users (≈1.2 M rows, 380 MB) rewrites the table and rebuilds its indexes under ACCESS EXCLUSIVE until the migration commits: reads and writes wait for the whole rewrite.",
    );
  });

  it("name the relation as the target resolved it", () => {
    const report = linter.lint(up("truncate users;"), {
      sizes: [size("users", { relation: "platform.users", estimatedRows: 12, totalBytes: 16384 })],
    });
    expect(report.findings[0]?.relation).toBe("platform.users");
    expect(report.findings[0]?.message).toContain("platform.users (≈12 rows, 16 kB)");
  });

  it("say when a table was never analyzed", () => {
    const report = linter.lint(up("truncate platform.users;"), {
      sizes: [size("platform.users", { estimatedRows: null, totalBytes: 8192 })],
    });
    expect(report.findings[0]?.message).toContain(
      "platform.users (rows unknown: never analyzed, 8192 bytes)",
    );
  });

  it("say which sessions the statement would wait behind, and whether lock_timeout bounds it", () => {
    const sizes = [size("platform.users", { lockHolders: [holder] })];
    const plain = linter.lint(up("create index i on platform.users (email);"), { sizes });
    expect(plain.findings[0]).toMatchObject({ rule: "index-not-concurrent", blockedBy: [holder] });
    expect(plain.findings[0]?.message).toContain(
      'Right now it would also wait behind pid 811 (worker) holding ROW EXCLUSIVE since 2026-12-01T09:00:00.000Z, active: "update platform.users set last_sign_in_at = now() where id = $1". While it waits, every later query on platform.users that needs a conflicting lock queues behind it.',
    );
    // The executor's own lock_timeout, when the caller says what it is.
    const executor = (lockTimeout: string | null) =>
      linter.lint(up("create index i on platform.users (email);"), { sizes, lockTimeout })
        .findings[0]?.message;
    expect(executor(null)).toContain("queues behind it, and no lock_timeout bounds the wait.");
    expect(executor("5s")).toContain("lock_timeout (5s) bounds the wait");

    const bounded = linter.lint(
      up("set local lock_timeout = '3s';\ncreate index i on platform.users (email);"),
      { sizes },
    );
    expect(bounded.findings[0]?.message).toContain("lock_timeout (3s) bounds the wait");

    // In a transaction:false migration a DO block's own set_config bounds its statements.
    const block = linter.lint(
      upOutsideTransaction(
        "do $$ begin perform pg_catalog.set_config('lock_timeout', '200ms', true); alter table platform.users add column n int; end $$;",
      ),
      { sizes },
    );
    expect(block.findings).toMatchObject([{ rule: "lock-wait", inDoBlock: true }]);
    expect(block.findings[0]?.message).toContain("lock_timeout (200ms) bounds the wait");

    // A session-level SET does not carry to the next statement of a transaction:false migration
    // (the engine may send it on another connection): the executor's setting applies there.
    const unbounded = linter.lint(
      upOutsideTransaction(
        "set lock_timeout = '3s';\nalter table platform.users add column n int;",
      ),
      { sizes, lockTimeout: "5s" },
    );
    expect(unbounded.findings[0]?.message).toContain("lock_timeout (5s) bounds the wait");
    // In a transactional migration the migration's own setting wins over the executor's.
    const own = linter.lint(
      up("set lock_timeout = 0;\nalter table platform.users add column n int;"),
      {
        sizes,
        lockTimeout: "5s",
      },
    );
    expect(own.findings[0]?.message).toContain("no lock_timeout bounds the wait");
  });

  it("leave out an autovacuum worker, which gives way to a lock request, unless it prevents wraparound", () => {
    const autovacuum = {
      ...holder,
      pid: 900,
      mode: "SHARE UPDATE EXCLUSIVE",
      applicationName: null,
      query: "autovacuum: VACUUM ANALYZE platform.users",
    };
    const wraparound = {
      ...autovacuum,
      pid: 901,
      query: "autovacuum: VACUUM platform.users (to prevent wraparound)",
    };
    const lint = (holders: RelationLockHolder[]) =>
      linter.lint(upOutsideTransaction("create index concurrently i on platform.users (email);"), {
        sizes: [size("platform.users", { lockHolders: holders })],
      }).findings;
    expect(lint([autovacuum])).toEqual([]);
    expect(lint([wraparound])).toMatchObject([{ rule: "lock-wait", blockedBy: [{ pid: 901 }] }]);
  });

  it("leave out sessions whose locks do not conflict with the statement's", () => {
    const reader = { ...holder, mode: "ACCESS SHARE", pid: 812 };
    const report = linter.lint(up("create index i on platform.users (email);"), {
      sizes: [size("platform.users", { lockHolders: [reader, holder] })],
    });
    expect(report.findings[0]?.blockedBy.map((h) => h.pid)).toEqual([811]);
  });
});
