import { Buffer } from "node:buffer";
import {
  type Executor,
  isCutMessage,
  MESSAGE_CAP_BYTES,
  type MigrationToRun,
  type SqlFailure,
} from "@studio/migrations-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Target, targets } from "./test-targets.ts";
import { quoteLiteral } from "./tracking-sql.ts";

// SPEC §3: stored and returned error messages are capped at 16 KiB, marked as cut — however large
// the message Postgres raised.

const HUGE = 20_000_000;
const RAISE_HUGE = `do $$ begin raise exception '%', repeat('x', ${HUGE}); end $$;`;

const bytes = (text: string) => Buffer.byteLength(text, "utf8");

/** A message as stored and returned: within the cap, marked as cut, beginning as raised. */
function expectCut(message: string | null | undefined, prefix = "") {
  expect(message).toEqual(expect.any(String));
  const text = message as string;
  expect(bytes(text)).toBeLessThanOrEqual(MESSAGE_CAP_BYTES);
  expect(isCutMessage(text)).toBe(true);
  expect(text).toContain(`[message cut: ${bytes(prefix) + HUGE} bytes in all`);
  expect(text.startsWith(`${prefix}xxxxxxxx`)).toBe(true);
}

function failureOf(outcome: { status: string; error?: SqlFailure }): SqlFailure {
  expect(outcome.status).toBe("failed");
  return outcome.error as SqlFailure;
}

const migration = (name: string, sql: string, transactional: boolean): MigrationToRun => ({
  name,
  sql,
  transactional,
  checksum: `checksum of ${name}`,
});

interface StoredRow {
  status: string;
  error_message: string | null;
  execution_time_ms: number | null;
}

interface StoredEvent {
  action: string;
  outcome: string;
  error_message: string | null;
}

describe.each(targets)("a 20 MB error message, over %s", (_, makeTarget) => {
  let target: Target;
  let executor: Executor;
  beforeAll(async () => {
    target = await makeTarget();
    executor = target.executor();
  });
  afterAll(() => target?.dispose());

  const row = async (name: string) =>
    (
      await target.query<StoredRow>(
        `select status, error_message, execution_time_ms from platform.schema_migrations where migration_name = ${quoteLiteral(name)}`,
      )
    )[0];
  const events = (name: string) =>
    target.query<StoredEvent>(
      `select action, outcome, error_message from platform.schema_migration_events where migration_name = ${quoteLiteral(name)} order by id`,
    );
  const tableExists = async (table: string) =>
    (
      await target.query<{ exists: boolean }>(
        `select to_regclass(${quoteLiteral(`public.${table}`)}) is not null as exists`,
      )
    )[0]?.exists;

  it("a transactional apply: the failure returned, the row and the event capped and marked; nothing applied", async () => {
    const name = "001_loud";
    const outcome = await executor.applyMigration({
      migration: migration(name, `create table loud (id int);\n${RAISE_HUGE}\n`, true),
      actor: "ops",
    });
    expectCut(failureOf(outcome).message);
    const stored = await row(name);
    expect(stored?.status).toBe("failed");
    expectCut(stored?.error_message);
    const [event, ...more] = await events(name);
    expect(more).toEqual([]);
    expect(event).toMatchObject({ action: "apply", outcome: "failed" });
    expectCut(event?.error_message);
    expect(await tableExists("loud")).toBe(false);
  });

  it("a transaction:false apply: the same, its first statement kept and the migration blocking", async () => {
    const name = "002_loud_outside";
    const outcome = await executor.applyMigration({
      migration: migration(name, `create table loud_outside (id int);\n${RAISE_HUGE}\n`, false),
      actor: "ops",
    });
    expectCut(failureOf(outcome).message);
    const stored = await row(name);
    expect(stored).toMatchObject({ status: "failed", execution_time_ms: expect.any(Number) });
    expectCut(stored?.error_message);
    const recorded = await events(name);
    expect(recorded.map((e) => [e.action, e.outcome])).toEqual([["apply", "failed"]]);
    expectCut(recorded[0]?.error_message);
    expect(await tableExists("loud_outside")).toBe(true);
    expect((await executor.readState()).find((r) => r.migrationName === name)?.status).toBe(
      "failed",
    );
  });

  it("a transaction:false down section: the row says it failed partway, capped; the event too", async () => {
    const name = "003_loud_down";
    const up = migration(name, "create table loud_down (id int);", false);
    expect((await executor.applyMigration({ migration: up, actor: "ops" })).status).toBe("applied");
    const outcome = await executor.rollbackMigration({
      migration: { ...up, sql: `drop table loud_down;\n${RAISE_HUGE}\n` },
      actor: "ops",
    });
    expectCut(failureOf(outcome).message);
    const stored = await row(name);
    expect(stored?.status).toBe("failed");
    expectCut(stored?.error_message, "rollback failed partway: ");
    const recorded = await events(name);
    expect(recorded.map((e) => [e.action, e.outcome])).toEqual([
      ["apply", "succeeded"],
      ["rollback", "failed"],
    ]);
    expectCut(recorded[1]?.error_message);
  });
});
