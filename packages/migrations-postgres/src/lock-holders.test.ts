import { createMigrationEngine, memorySource } from "@studio/migrations-core";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { postgresTarget, type Target } from "./test-targets.ts";

// Issue 13: a migration that gave up on a lock says so — how long it waited, how often — and
// names the relation and the session holding it, in what is recorded and returned; its remedy is
// to wait for (or end) that session, not to fix the SQL.

const TIMEOUTS = { lockTimeoutMs: 200, lockRetries: 1, lockRetryDelayMs: 50 };

/**
 * A second connection, as a psql left open somewhere, holding a lock in an open transaction: its
 * pid, and who it is as the failure should name it (its user, application and address).
 */
async function holdLock(
  url: string,
  sql: string,
): Promise<{ client: pg.Client; pid: number; who: string }> {
  const client = new pg.Client({ connectionString: url, application_name: "ops-psql" });
  await client.connect();
  const { rows } = await client.query<{ pid: number; user: string; addr: string | null }>(
    "select pg_backend_pid() as pid, session_user as user, host(inet_client_addr()) as addr",
  );
  const [{ pid, user, addr }] = rows as [(typeof rows)[number]];
  await client.query(sql);
  return { client, pid, who: `${user}, ops-psql${addr === null ? "" : `, from ${addr}`}` };
}

describe.each(["pg", "pg-meta"] as const)("a lock timeout over %s", (kind) => {
  let target: Target;
  let holder: pg.Client | null = null;
  beforeAll(async () => {
    target = await postgresTarget(kind, TIMEOUTS);
  });
  afterAll(async () => {
    await holder?.end();
    await target?.dispose();
  });
  beforeEach(async () => {
    await holder?.end();
    holder = null;
    await target.query(`drop schema if exists platform cascade; drop schema if exists app cascade;
      create schema app;
      create table app.organizations (id int);
      create table app.audit (at timestamptz);
      create table app.orders (id int);
      create function app.audit_order() returns trigger language plpgsql
        as $$ begin insert into app.audit values (now()); return new; end $$;
      create trigger audited after insert on app.orders
        for each row execute function app.audit_order();`);
  });

  const apply = async (name: string, sql: string) => {
    const engine = createMigrationEngine({
      executor: target.executor(),
      source: memorySource([{ name, sql }]),
    });
    const report = await engine.apply({ actor: "ops" });
    return { report, status: await engine.list() };
  };
  const recorded = async () => ({
    row: await target.query<{ status: string; error_message: string }>(
      "select status, error_message from platform.schema_migrations",
    ),
    events: await target.query<{ outcome: string; error_message: string }>(
      "select outcome, error_message from platform.schema_migration_events",
    ),
  });

  it("names the relation, the mode and the session holding it, and records that", async () => {
    const held = await holdLock(
      target.url as string,
      "begin; lock table app.organizations in access exclusive mode",
    );
    holder = held.client;
    // Quotes and backslashes in the SQL searched for names are data, never SQL.
    const { report, status } = await apply(
      "001_note",
      "-- it's the \\ organizations' note\nALTER TABLE app.organizations ADD COLUMN note text DEFAULT E'it''s \\\\ here';\n",
    );

    const error = report.failed?.error;
    expect(error?.code).toBe("55P03");
    expect(error?.message).toMatch(
      /^Waited 400 ms for a lock \(2 attempts, lock_timeout 200 ms each\) and gave up: canceling statement due to lock timeout\. /,
    );
    const named = `app.organizations is held in AccessExclusiveLock by pid ${held.pid} (${held.who}, idle in transaction, transaction open for `;
    expect(error?.message).toContain(named);
    expect(error?.message).toContain(
      `: "begin; lock table app.organizations in access exclusive mode".`,
    );

    const { row, events } = await recorded();
    expect(row).toEqual([{ status: "failed", error_message: error?.message }]);
    expect(events).toEqual([{ outcome: "failed", error_message: error?.message }]);
    expect(status.problems.map((p) => [p.kind, p.remedy])).toEqual([
      ["failed", { kind: "wait_for_lock", migrationName: "001_note" }],
    ]);
    // Nothing of it stayed: the column is not there.
    expect(
      await target.query(
        "select count(*)::int as n from information_schema.columns where table_name = 'organizations' and column_name = 'note'",
      ),
    ).toEqual([{ n: 0 }]);
  });

  it("names a reader holding ACCESS SHARE that an ALTER waits behind", async () => {
    const held = await holdLock(target.url as string, "begin; select * from app.orders");
    holder = held.client;
    const { report } = await apply("001_orders", "alter table app.orders add column total int;\n");

    expect(report.failed?.error?.code).toBe("55P03");
    expect(report.failed?.error?.message).toContain(
      `app.orders is held in AccessShareLock by pid ${held.pid} (${held.who}, idle in transaction, `,
    );
    expect((await recorded()).row[0]?.error_message).toContain(`pid ${held.pid}`);
  });

  it("says so when no session holds a lock on a relation the migration names", async () => {
    // The insert waits on app.audit, which only the trigger reaches: the SQL never names it.
    const held = await holdLock(
      target.url as string,
      "begin; lock table app.audit in access exclusive mode",
    );
    holder = held.client;
    const { report, status } = await apply("001_order", "insert into app.orders values (1);\n");

    const message = report.failed?.error?.message ?? "";
    expect(report.failed?.error?.code).toBe("55P03");
    expect(message).toContain(
      "No other session holds a lock on a relation this migration names now: the lock was released meanwhile",
    );
    expect(message).not.toContain(`pid ${held.pid}`);
    expect((await recorded()).row[0]?.error_message).toBe(message);
    expect(status.problems[0]?.remedy).toEqual({
      kind: "wait_for_lock",
      migrationName: "001_order",
    });
  });
});

describe.each(["pg", "pg-meta"] as const)(
  "a lock timeout of a transaction:false statement over %s",
  (kind) => {
    let target: Target;
    let holder: pg.Client | null = null;
    beforeAll(async () => {
      // Over postgres-meta each statement is a request of its own, on a new backend: the run's
      // lock_timeout reaches it all the same (the database's own is the default, seconds).
      target = await postgresTarget(kind, TIMEOUTS);
    });
    afterAll(async () => {
      await holder?.end();
      await target?.dispose();
    });
    beforeEach(async () => {
      await holder?.end();
      holder = null;
      await target.query(`drop schema if exists platform cascade; drop schema if exists app cascade;
      create schema app; create table app.organizations (id int)`);
    });

    const apply = (sql: string) =>
      createMigrationEngine({
        executor: target.executor(),
        source: memorySource([{ name: "001_drop", sql }]),
      }).apply({ actor: "ops" });

    it("names the session holding the lock on the relation the statement names", async () => {
      const held = await holdLock(target.url as string, "begin; select * from app.organizations");
      holder = held.client;
      const report = await apply(
        "-- migrate:up transaction:false\ndrop table app.organizations;\n",
      );

      const message = report.failed?.error?.message ?? "";
      expect(report.failed?.error?.code).toBe("55P03");
      expect(message).toMatch(
        /^Waited 400 ms for a lock \(2 attempts, lock_timeout 200 ms each\) and gave up: /,
      );
      expect(message).toContain(
        `app.organizations is held in AccessShareLock by pid ${held.pid} (${held.who}, idle in transaction, `,
      );
      expect(message.match(/ is held in /g)).toHaveLength(1);
      const [row] = await target.query<{ status: string; error_message: string }>(
        "select status, error_message from platform.schema_migrations",
      );
      expect(row).toEqual({ status: "failed", error_message: message });
    });

    it.runIf(kind === "pg")(
      "inside the migration's own transaction, says how long it waited and reads no holders",
      async () => {
        // Another connection would list that transaction's own locks as a holder's.
        holder = (await holdLock(target.url as string, "begin; select * from app.organizations"))
          .client;
        const report = await apply(
          "-- migrate:up transaction:false\nbegin;\nlock table app.organizations in share mode;\ndrop table app.organizations;\ncommit;\n",
        );
        expect(report.failed?.error).toMatchObject({
          code: "55P03",
          message:
            "Waited 200 ms for a lock (1 attempt, lock_timeout 200 ms) and gave up: canceling statement due to lock timeout.",
        });
      },
    );
  },
);
