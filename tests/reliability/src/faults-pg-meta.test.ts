import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  type ApplyReport,
  createMigrationEngine,
  directorySource,
  ExecutorUnavailableError,
  MigrationBlockedError,
} from "@studio/migrations-core";
import { createPgMetaExecutor } from "@studio/migrations-postgres";
import {
  createTestDatabase,
  type PgMetaServer,
  startPgMeta,
  type TestDatabase,
} from "@studio/test-postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applyLog, catalog, resetDatabase, tracking } from "./support/database.ts";
import {
  describeFault,
  type FaultProxy,
  type ProxyFault,
  startFaultProxy,
} from "./support/fault-proxy.ts";
import {
  activeBackends,
  appliedNames,
  appliedPrefix,
  BROKEN,
  operatorSql,
  ReferenceCatalogs,
  statementFailureSet,
  truthViolations,
  UNDO_INDEX_CONCURRENTLY,
  waitFor,
  withPauseIn,
} from "./support/faults.ts";
import {
  type MigrationFile,
  migrationSet,
  removeAllDirs,
  removeDir,
  writeMigrationsDir,
} from "./support/migrations.ts";
import { Figures } from "./support/summary.ts";

/**
 * Faults between the engine and the database when it goes through postgres-meta (Studio with
 * PG_META_URL): the real postgres-meta from npm, behind a loopback proxy of this suite's own that
 * answers chosen requests with 5xx or 408, drops the connection, or never answers — before the
 * request reached postgres-meta (nothing ran) or after (it ran, the answer is lost) — and the
 * real postgres-meta stopped mid-run. After each, the database itself is examined.
 */
const figures = new Figures("faults, engine through postgres-meta");
const NAMES = migrationSet().map((f) => f.name);
const LAST = NAMES.at(-1) as string;
const REQUEST_TIMEOUT_MS = 3_000;

let database: TestDatabase;
let meta: PgMetaServer;
let proxy: FaultProxy;
let round = 0;
const reference = new ReferenceCatalogs(migrationSet(), () =>
  createTestDatabase("faults_meta_ref"),
);

const goodReference = new ReferenceCatalogs(statementFailureSet(null, migrationSet()), () =>
  createTestDatabase("faults_meta_kref"),
);

beforeAll(async () => {
  database = await createTestDatabase("faults_pg_meta");
  meta = await startPgMeta(database.url);
  proxy = await startFaultProxy(meta.url);
});
afterAll(async () => {
  figures.print();
  await proxy?.close();
  await meta?.stop();
  await database?.drop();
  removeAllDirs();
});

const engineFor = (dir: string) =>
  createMigrationEngine({
    executor: createPgMetaExecutor({
      url: proxy.url,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      outcomeRetries: 3,
    }),
    source: directorySource(dir),
  });

/** The run's report, or what it threw. */
async function applyAll(dir: string, actor: string): Promise<ApplyReport | Error> {
  try {
    return await engineFor(dir).apply({ actor });
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** The steps a run took, without those already applied. */
const ran = (report: ApplyReport) =>
  report.results
    .filter((r) => r.status !== "already_applied")
    .map((r) => `${r.migrationName}:${r.status}`);

/** Which request a fault hits. */
const batchOf = (name: string) => (sql: string) =>
  sql.includes("pg_advisory_xact_lock") && sql.includes(`values ('${name.slice(0, 3)}')`);
const recordingOf = (name: string) => (sql: string) =>
  sql.includes(`'${name}'`) && sql.includes("select 'failed' as outcome");
const INDEX = "008_index_concurrently";
const claimOf008 = (sql: string) => sql.includes(INDEX) && sql.includes("select 'started'");
/** The statement itself, as the runner sends it (after the marker that says it is running). */
const secondIndexOf008 = (sql: string) =>
  sql.startsWith("/* studio-migrations: running ") &&
  sql.includes("\ncreate index concurrently projects_account_id_idx");
const finishOf008 = (sql: string) => sql.includes(INDEX) && sql.includes("select 'applied'");

/**
 * What the run must end with for the migration hit:
 * - `applied`: the engine established that it committed, and the run went on to the end;
 * - `failed`: recorded failed (with the reason), not applied, the run stopped there;
 * - `unavailable`: the run stopped with EXECUTOR_UNAVAILABLE and recorded nothing about it;
 * - `interrupted`: the run stopped with EXECUTOR_UNAVAILABLE, the migration shown as started;
 * - `late`: reported failed, then the request arrived after all, and was refused: the failure
 *   recorded for the attempt revokes it.
 */
type Outcome = "applied" | "failed" | "unavailable" | "interrupted" | "late";
interface Scenario {
  target: string;
  faults: { match: (sql: string) => boolean; fault: ProxyFault }[];
  outcome: Outcome;
  /** A pause in the target's SQL, so that a fault can land while it runs. */
  sleepy?: boolean;
}
const batch = (target: string, fault: ProxyFault, outcome: Outcome, sleepy = false): Scenario => ({
  target,
  faults: [{ match: batchOf(target), fault }],
  outcome,
  sleepy,
});

const SCENARIOS: Scenario[] = [
  batch("003_seed_accounts", { kind: "status", status: 500, forward: false }, "failed"),
  batch("004_create_projects", { kind: "status", status: 500, forward: "first" }, "applied"),
  batch("005_add_account_plan", { kind: "status", status: 503, forward: false }, "unavailable"),
  batch("006_create_slugify", { kind: "status", status: 504, forward: false }, "unavailable"),
  batch("007_touch_projects", { kind: "status", status: 408, forward: "first" }, "applied"),
  batch(
    "009_project_state",
    { kind: "status", status: 408, forward: "running", afterMs: 1000 },
    "applied",
    true,
  ),
  batch("010_live_projects_view", { kind: "drop", forward: false }, "failed"),
  batch("011_odd_names", { kind: "drop", forward: true }, "applied"),
  batch("012_invoices", { kind: "hang", forward: true }, "applied"),
  batch("002_create_accounts", { kind: "hang", forward: false }, "failed"),
  // A request held in transit until after the client gave up: reported failed ("did not
  // commit"), and when it arrives after all, it must not run.
  batch("006_create_slugify", { kind: "late", afterMs: 500 }, "late"),
  {
    target: "004_create_projects",
    faults: [
      {
        match: batchOf("004_create_projects"),
        fault: { kind: "status", status: 500, forward: false },
      },
      {
        match: recordingOf("004_create_projects"),
        fault: { kind: "status", status: 502, forward: false },
      },
    ],
    outcome: "failed",
  },
  // The claim committed but its answer was lost: the engine cannot tell its own claim from
  // another applier's, so it stops and leaves 008 shown as started (an operator resolves it),
  // although none of 008's statements ran. Conservative, not wrong.
  {
    target: INDEX,
    faults: [{ match: claimOf008, fault: { kind: "drop", forward: true } }],
    outcome: "interrupted",
  },
  {
    target: INDEX,
    faults: [{ match: secondIndexOf008, fault: { kind: "status", status: 500, forward: "first" } }],
    outcome: "failed",
  },
  {
    target: INDEX,
    faults: [{ match: secondIndexOf008, fault: { kind: "status", status: 503, forward: false } }],
    outcome: "failed",
  },
  {
    target: INDEX,
    faults: [{ match: finishOf008, fault: { kind: "drop", forward: false } }],
    outcome: "applied",
  },
];

/** Fresh tracking tables and schema, and this round's files (a checksum of their own). */
function roundFiles(target: string, sleepy: boolean): MigrationFile[] {
  round++;
  const files = migrationSet({ round });
  return sleepy ? withPauseIn(files, migrationSet({ round, sleepSeconds: 1.5 }), target) : files;
}

/** The database must tell the truth, and a clean run (after an operator's resolve) finishes. */
async function expectRecovery(dir: string, files: MigrationFile[]): Promise<void> {
  const url = database.url;
  expect(await truthViolations(url, files)).toEqual([]);
  const { rows } = await tracking(url);
  const blocked = rows.find((r) => r.migration_name === INDEX && r.status === "failed");
  if (blocked) {
    const refused = await applyAll(dir, "recovery");
    expect(refused).toBeInstanceOf(MigrationBlockedError);
    expect(String(refused)).toContain(INDEX);
    await operatorSql(url, UNDO_INDEX_CONCURRENTLY);
    const resolved = await engineFor(dir).resolve({
      migrationName: INDEX,
      as: "rolled_back",
      actor: "operator",
    });
    expect(resolved.after).toBe("rolled_back");
    figures.add("resolved by an operator");
  }
  const report = await applyAll(dir, "recovery");
  expect(report instanceof Error ? String(report) : report.failed).toBeNull();
  expect(await appliedNames(url)).toEqual(NAMES);
  const violations = await truthViolations(url, files);
  figures.add("migrations checked after recovery", files.length);
  figures.add("migrations lost or run twice", violations.length);
  expect(violations).toEqual([]);
  expect(await catalog(url)).toEqual(await reference.after(LAST));
  figures.add("recovered runs");
}

/** After the fault: nothing after the target ran, and the schema is that of what is applied. */
async function expectStoppedAt(target: string, files: MigrationFile[]): Promise<void> {
  const url = database.url;
  const before = NAMES[NAMES.indexOf(target) - 1] ?? null;
  expect(await appliedPrefix(url, files)).toBe(before);
  const ran = await applyLog(url);
  expect(Object.keys(ran).filter((prefix) => prefix > target.slice(0, 3))).toEqual([]);
  if (target !== INDEX) expect(await catalog(url)).toEqual(await reference.after(before));
}

describe("postgres-meta answering 5xx, 408, dropping or never answering mid-run", () => {
  for (const scenario of SCENARIOS) {
    const what = scenario.faults.map((f) => describeFault(f.fault)).join(", then ");
    it(`${scenario.target}: ${what} → ${scenario.outcome}`, async () => {
      await resetDatabase(database.url);
      const files = roundFiles(scenario.target, scenario.sleepy ?? false);
      const dir = writeMigrationsDir(files);
      try {
        proxy.inject(...scenario.faults);
        const result = await applyAll(dir, `fault-${round}`);
        expect(proxy.pending(), "every fault was injected").toBe(0);
        await proxy.idle();
        for (const f of scenario.faults) figures.add(describeFault(f.fault));
        const { rows } = await tracking(database.url);
        const row = rows.find((r) => r.migration_name === scenario.target);
        switch (scenario.outcome) {
          case "applied":
            expect(result instanceof Error ? String(result) : result.failed).toBeNull();
            expect(await appliedNames(database.url)).toEqual(NAMES);
            break;
          case "failed":
            expect(result instanceof Error ? String(result) : result.failed?.migrationName).toBe(
              scenario.target,
            );
            expect(row?.status).toBe("failed");
            expect(row?.execution_time_ms).not.toBeNull();
            expect(row?.error_message).toMatch(/postgres-meta (answered|did not answer)/);
            await expectStoppedAt(scenario.target, files);
            if (scenario.target === INDEX) {
              // A statement outside a transaction whose answer was lost: the record says whether
              // it ran only when that is known, and never claims a rollback that did not happen.
              const ranIt = scenario.faults.some((f) => "forward" in f.fault && f.fault.forward);
              const index =
                "index CREATE INDEX projects_account_id_idx ON app.projects USING btree (account_id)";
              expect(row?.error_message).toContain(
                ranIt ? "this statement may or may not have run" : "this statement did not run",
              );
              if (ranIt) expect(await catalog(database.url)).toContain(index);
              else expect(await catalog(database.url)).not.toContain(index);
            }
            break;
          case "unavailable":
            expect(result).toBeInstanceOf(ExecutorUnavailableError);
            expect(row).toBeUndefined();
            await expectStoppedAt(scenario.target, files);
            break;
          case "interrupted":
            expect(result).toBeInstanceOf(ExecutorUnavailableError);
            expect(row?.status).toBe("failed");
            expect(row?.execution_time_ms).toBeNull();
            await expectStoppedAt(scenario.target, files);
            break;
          case "late": {
            expect(result instanceof Error ? String(result) : result.failed?.migrationName).toBe(
              scenario.target,
            );
            expect(row?.status).toBe("failed");
            expect(row?.error_message).toContain(
              "should the request still arrive, it will not run",
            );
            await expectStoppedAt(scenario.target, files);
            // The held request did reach postgres-meta, and was refused by its attempt's guard.
            expect(proxy.lateAnswers().at(-1)).toContain("SMREV");
            figures.add("late requests refused after a reported failure");
            break;
          }
        }
        expect(await truthViolations(database.url, files)).toEqual([]);
        await expectRecovery(dir, files);
        figures.add("faults survived");
      } finally {
        removeDir(dir);
      }
    });
  }
});

describe("postgres-meta's own 408, and postgres-meta stopped mid-run", () => {
  it("a query past postgres-meta's read timeout (408, the query still running): its outcome is established, not guessed", async () => {
    await resetDatabase(database.url);
    const target = "005_add_account_plan";
    const files = roundFiles(target, true);
    const dir = writeMigrationsDir(files);
    const impatient = await startPgMeta(database.url, { env: { PG_QUERY_TIMEOUT_SECS: "1" } });
    try {
      proxy.setUpstream(impatient.url);
      const result = await applyAll(dir, `fault-${round}`);
      figures.add("postgres-meta read timeouts (408)");
      expect(result instanceof Error ? String(result) : result.failed).toBeNull();
      expect(await appliedNames(database.url)).toEqual(NAMES);
      proxy.setUpstream(meta.url);
      await expectRecovery(dir, files);
      figures.add("faults survived");
    } finally {
      proxy.setUpstream(meta.url);
      await impatient.stop();
      removeDir(dir);
    }
  });

  for (const restart of ["started again while the run retries", "down until the run gives up"]) {
    it(`postgres-meta stopped while a migration runs, ${restart}: nothing recorded that is not so, and the next run recovers`, async () => {
      await resetDatabase(database.url);
      const target = "005_add_account_plan";
      const files = roundFiles(target, true);
      const dir = writeMigrationsDir(files);
      try {
        const running = applyAll(dir, `fault-${round}`);
        await waitFor(`${target} running`, async () => {
          return (await activeBackends(database.url, "pg_sleep(1.5)")).length > 0;
        });
        const stopping = meta.stop();
        figures.add("postgres-meta stopped mid-run");
        let result: ApplyReport | Error;
        if (restart === "started again while the run retries") {
          await stopping;
          meta = await startPgMeta(database.url);
          proxy.setUpstream(meta.url);
          result = await running;
        } else {
          result = await running;
          await stopping;
          meta = await startPgMeta(database.url);
          proxy.setUpstream(meta.url);
          // The run cannot have finished: postgres-meta was gone for the rest of it.
          expect(result instanceof Error ? result : result.failed).toBeTruthy();
        }
        if (result instanceof Error) expect(result).toBeInstanceOf(ExecutorUnavailableError);
        await waitFor("the migration's backend to finish", async () => {
          return (await activeBackends(database.url, "pg_sleep(1.5)")).length === 0;
        });
        expect(await truthViolations(database.url, files)).toEqual([]);
        const last = await appliedPrefix(database.url, files);
        if (last === null || last < INDEX) {
          expect(await catalog(database.url)).toEqual(await reference.after(last));
        }
        await expectRecovery(dir, files);
        figures.add("faults survived");
      } finally {
        removeDir(dir);
      }
    });
  }
});

describe("through postgres-meta, a migration whose k-th statement fails", () => {
  for (const k of [1, 2, 3, 4]) {
    it(`statement ${k} of 4: schema unchanged, a failed row and event with the Postgres message, 004 not run; the fixed file applies`, async () => {
      await resetDatabase(database.url);
      const url = database.url;
      const broken = BROKEN[k - 1] as { sql: string; message: string };
      const base = migrationSet({ round: ++round });
      const files = statementFailureSet(k, base);
      const good = statementFailureSet(null, base);
      const dir = writeMigrationsDir(files);
      try {
        const setup = await engineFor(dir).apply({ actor: "setup", upTo: "002_create_accounts" });
        expect(setup.failed).toBeNull();
        const before = await catalog(url);

        const report = await engineFor(dir).apply({ actor: `k${k}` });
        figures.add(`statement ${k} of 4 failed`);
        expect(report.failed?.migrationName).toBe("003_widgets");
        expect(report.failed?.error?.message).toBe(broken.message);
        expect(ran(report)).toEqual(["003_widgets:failed", "004_later:skipped"]);
        expect(await catalog(url)).toEqual(before);
        expect(await applyLog(url)).toEqual({ "001": 1, "002": 1 });
        const { rows, events } = await tracking(url);
        expect(rows.map((r) => `${r.migration_name}:${r.status}`)).toEqual([
          "001_create_app_schema:applied",
          "002_create_accounts:applied",
          "003_widgets:failed",
        ]);
        expect(rows[2]?.error_message).toBe(broken.message);
        expect(events.at(-1)).toMatchObject({
          migration_name: "003_widgets",
          action: "apply",
          outcome: "failed",
          error_message: broken.message,
        });
        const status = await engineFor(dir).list();
        expect(status.problems).toMatchObject([{ kind: "failed", migrationName: "003_widgets" }]);

        const fixed = good[2] as MigrationFile;
        writeFileSync(join(dir, `${fixed.name}.sql`), fixed.text);
        const again = await engineFor(dir).apply({ actor: `k${k}-fixed` });
        expect(again.failed).toBeNull();
        expect(ran(again)).toEqual(["003_widgets:applied", "004_later:applied"]);
        expect(await truthViolations(url, good)).toEqual([]);
        expect(await catalog(url)).toEqual(await goodReference.after("004_later"));
        figures.add("fixed and re-applied");
      } finally {
        removeDir(dir);
      }
    });
  }
});
