import { loadMigrationTexts, type MigrationText } from "@studio/migrations-core";
import { createMemoryDatabase, MemoryExecutor } from "@studio/migrations-core/testing";
import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { describe, expect, it } from "vitest";
import { attemptLogLine } from "./logging.ts";
import { createMigrationsRouter } from "./router.ts";
import { createCallerFactory } from "./trpc.ts";

const table = (n: string, down = true): MigrationText => ({
  name: n,
  sql: `-- migrate:up\nCREATE TABLE t_${n.slice(4)} (id int);\n${down ? `-- migrate:down\nDROP TABLE t_${n.slice(4)};\n` : ""}`,
});

function setup(
  texts: MigrationText[],
  options: { failures?: ConstructorParameters<typeof MemoryExecutor>[0] } = {},
) {
  const database = createMemoryDatabase();
  const executor = new MemoryExecutor({ database, ...options.failures });
  const disk = [...texts];
  const logs: string[] = [];
  const router = createMigrationsRouter({
    executor,
    source: { load: async () => loadMigrationTexts(disk) },
    lockTimeoutMs: 100,
    onAttempt: (a) => logs.push(attemptLogLine(a)),
    authorize: ({ actor, procedure }) =>
      actor !== "read-only" || procedure === "list" || procedure === "history",
  });
  // `apply` through a caller needs `.call` (see router.ts); the rest are plain calls.
  const caller = (actor: string | null = "ops") => {
    const { migrations } = createCallerFactory(router)({ actor });
    return {
      list: migrations.list,
      apply: (input: Parameters<typeof migrations.apply>[0]) =>
        migrations.apply.call(undefined, input),
      rollback: migrations.rollback,
      baseline: migrations.baseline,
      resolve: migrations.resolve,
      history: migrations.history,
    };
  };
  return { caller, database, executor, disk, logs };
}

/** The HTTP status a client would see for what `promise` rejects with. */
async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCError) return getHTTPStatusCodeFromError(error);
    throw error;
  }
  throw new Error("expected a rejection");
}

describe("migrations router", () => {
  it("lists, applies with the caller as actor, and says already_applied the second time", async () => {
    const { caller, database } = setup([table("001_a"), table("002_b")]);
    expect((await caller().list()).pending.map((m) => m.name)).toEqual(["001_a", "002_b"]);
    const report = await caller("cli:alice@host").apply({});
    expect(report.results.map((r) => [r.migrationName, r.status])).toEqual([
      ["001_a", "applied"],
      ["002_b", "applied"],
    ]);
    expect(database.records.get("002_b")?.appliedBy).toBe("cli:alice@host");
    const again = await caller().apply({ migrationName: "002_b" });
    expect(again.results).toMatchObject([{ migrationName: "002_b", status: "already_applied" }]);
    const listed = await caller().list();
    expect(listed.applied[0]?.appliedAt).toBeInstanceOf(Date);
  });

  it("refuses every procedure without an actor (401) and what authorize denies (403)", async () => {
    const { caller, database } = setup([table("001_a")]);
    expect(await statusOf(caller(null).list())).toBe(401);
    expect(await statusOf(caller(null).apply({}))).toBe(401);
    expect(await statusOf(caller(null).history())).toBe(401);
    expect(await statusOf(caller("read-only").apply({}))).toBe(403);
    expect((await caller("read-only").list()).pending).toHaveLength(1);
    expect(database.records.size).toBe(0);
  });

  it("rejects unknown keys and malformed names with 400 before touching the database", async () => {
    const { caller, database } = setup([table("001_a")]);
    const inputs: unknown[] = [
      { migration_name: "001_a" },
      { migrationName: "../../etc/passwd" },
      { migrationName: "001_a; drop table x" },
      { migrationName: "001_a", upTo: "001_a" },
      { dryRun: "yes" },
      { migrationName: "9".repeat(300) },
    ];
    for (const input of inputs) {
      // biome-ignore lint/suspicious/noExplicitAny: deliberately bypassing the input type
      expect(await statusOf(caller().apply(input as any))).toBe(400);
    }
    expect(await statusOf(caller().history({ limit: 0 }))).toBe(400);
    expect(await statusOf(caller().history({ cursor: "abc" }))).toBe(400);
    expect(
      await statusOf(caller().resolve({ migrationName: "001_a", as: "maybe" as "applied" })),
    ).toBe(400);
    expect(database.records.size).toBe(0);
    expect(database.executed).toEqual([]);
  });

  it("maps the core's refusals to SPEC §5 statuses and names what to do", async () => {
    const { caller, disk, executor } = setup([
      table("001_a"),
      table("002_b", false),
      table("003_c"),
    ]);
    expect(await statusOf(caller().apply({ migrationName: "009_nope" }))).toBe(404);
    expect(await statusOf(caller().rollback({ migrationName: "009_nope" }))).toBe(404);
    expect(await statusOf(caller().apply({ migrationName: "003_c" }))).toBe(409); // earlier pending
    await caller().apply({ upTo: "002_b" });
    expect(await statusOf(caller().rollback({ migrationName: "001_a" }))).toBe(412); // order
    expect(await statusOf(caller().rollback({ migrationName: "002_b" }))).toBe(412); // no down
    expect(
      await statusOf(caller().resolve({ migrationName: "001_a", as: "accept_checksum" })),
    ).toBe(409);

    disk[0] = { name: "001_a", sql: "CREATE TABLE t_a (id bigint);" };
    const drift = caller().apply({});
    expect(await statusOf(drift)).toBe(409);
    await expect(drift).rejects.toMatchObject({
      code: "CONFLICT",
      cause: { code: "CHECKSUM_DRIFT" },
    });

    const held = await executor.acquireLock({ timeoutMs: 10, holder: "someone else" });
    expect(
      await statusOf(caller().resolve({ migrationName: "001_a", as: "accept_checksum" })),
    ).toBe(409); // lock busy
    await held.release();
  });

  it("turns a failed migration into 422 carrying the migration, the Postgres message and the results", async () => {
    const { caller, database } = setup([table("001_a"), table("002_b")], {
      failures: {
        failures: [
          {
            migrationName: "002_b",
            error: { message: 'relation "x" does not exist', code: "42P01" },
          },
        ],
      },
    });
    const attempt = caller().apply({});
    expect(await statusOf(attempt)).toBe(422);
    await expect(attempt).rejects.toMatchObject({
      migrationName: "002_b",
      failure: { message: 'relation "x" does not exist', code: "42P01" },
      results: [{ status: "applied" }, { status: "failed" }],
    });
    expect(database.records.get("002_b")?.status).toBe("failed");
  });

  it("dry-runs without changing anything, and pages history", async () => {
    const { caller, database } = setup([table("001_a"), table("002_b")]);
    const plan = await caller().apply({ dryRun: true });
    expect(plan.results.map((r) => r.sql)).toEqual([
      "CREATE TABLE t_a (id int);",
      "CREATE TABLE t_b (id int);",
    ]);
    expect(database.records.size).toBe(0);
    await caller().apply({});
    await caller().rollback({ migrationName: "002_b" });
    const page = await caller().history({ limit: 2 });
    expect(page.events.map((e) => e.action)).toEqual(["rollback", "apply"]);
    expect(page.events[0]?.at).toBeInstanceOf(Date);
    const next = await caller().history({ limit: 2, cursor: page.nextCursor ?? undefined });
    expect(next).toMatchObject({ nextCursor: null, events: [{ migrationName: "001_a" }] });
  });

  it("baselines and resolves, recording the caller", async () => {
    const { caller, database } = setup([table("001_a"), table("002_b")]);
    expect((await caller("operator").baseline({ upTo: "001_a" })).results).toEqual([
      { migrationName: "001_a", status: "baselined" },
    ]);
    expect(
      await caller("operator").resolve({ migrationName: "002_b", as: "applied" }),
    ).toMatchObject({ before: "pending", after: "applied" });
    expect(database.events.map((e) => [e.action, e.actor])).toEqual([
      ["baseline", "operator"],
      ["resolve", "operator"],
    ]);
  });

  it("logs one structured line per attempt, without SQL", async () => {
    const { caller, logs } = setup([table("001_a")]);
    await caller("ops").apply({});
    expect(logs).toHaveLength(1);
    expect(JSON.parse(logs[0] as string)).toMatchObject({
      event: "migration_attempt",
      migration: "001_a",
      action: "apply",
      outcome: "succeeded",
      actor: "ops",
      ms: expect.any(Number),
    });
    expect(logs[0]).not.toContain("CREATE TABLE");
  });
});
