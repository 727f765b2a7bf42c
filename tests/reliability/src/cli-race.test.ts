import { createTestDatabase } from "@studio/test-postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applySteps, type CliRun, describeRun, directArgs, runCli } from "./support/cli.ts";
import { APPLIERS, ROUNDS } from "./support/config.ts";
import { applyLog, catalog, exactlyOnceViolations, tracking } from "./support/database.ts";
import {
  MIGRATION_NAMES,
  migrationSet,
  removeAllDirs,
  removeDir,
  writeMigrationsDir,
} from "./support/migrations.ts";
import { Figures } from "./support/summary.ts";

const figures = new Figures("CLI appliers, separate processes");
let serial: string[] = [];

beforeAll(async () => {
  // The reference: one applier alone, on a fresh database.
  const database = await createTestDatabase("serial");
  const dir = writeMigrationsDir(migrationSet());
  try {
    const run = await runCli(directArgs(["apply"], database.url, dir));
    expect(run.code, describeRun(run)).toBe(0);
    serial = await catalog(database.url);
  } finally {
    await database.drop();
    removeDir(dir);
  }
  expect(serial).toContain(
    "index CREATE INDEX accounts_created_at_idx ON app.accounts USING btree (created_at)",
  );
});
afterAll(() => {
  figures.print();
  removeAllDirs();
});

/** Every applier either ran or was told the lock stayed busy; nothing else is acceptable. */
function expectDocumentedOutcomes(runs: CliRun[]): void {
  for (const run of runs) {
    if (run.code === 0) continue;
    expect(run.json?.error?.code, describeRun(run)).toBe("LOCK_BUSY");
    figures.add("lock busy");
  }
  for (const step of runs.flatMap(applySteps)) {
    expect(["applied", "already_applied"]).toContain(step.status);
  }
}

/** How many appliers reported each migration as applied by them. */
function appliedCounts(runs: CliRun[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const step of runs.flatMap(applySteps)) {
    if (step.status === "applied")
      counts[step.migrationName] = (counts[step.migrationName] ?? 0) + 1;
  }
  return counts;
}

const once = (names: readonly string[]) => Object.fromEntries(names.map((n) => [n, 1]));

describe(`${APPLIERS} studio-migrate processes racing to apply`, () => {
  it(`apply every migration exactly once, with the schema of a serial run, in each of ${ROUNDS} rounds`, async () => {
    for (let round = 1; round <= ROUNDS; round++) {
      const files = migrationSet({ round });
      const dir = writeMigrationsDir(files);
      const database = await createTestDatabase("cli_race");
      try {
        const runs = await Promise.all(
          Array.from({ length: APPLIERS }, (_, i) =>
            runCli([...directArgs(["apply"], database.url, dir), "--actor", `r${round}-a${i}`]),
          ),
        );
        expectDocumentedOutcomes(runs);
        expect(appliedCounts(runs), `round ${round}`).toEqual(once(MIGRATION_NAMES));
        expect(await exactlyOnceViolations(database.url, files), `round ${round}`).toEqual([]);
        expect(await catalog(database.url), `round ${round}`).toEqual(serial);
        figures.add("rounds");
        figures.add("appliers", runs.length);
        figures.add("migrations applied exactly once", files.length);
      } finally {
        await database.drop();
        removeDir(dir);
      }
    }
  });

  it(`serialise a rollback racing ${APPLIERS - 1} appliers: the end state is that of one order`, async () => {
    const last = MIGRATION_NAMES.at(-1) as string;
    const target = MIGRATION_NAMES.at(-2) as string;
    for (let round = 1; round <= ROUNDS; round++) {
      const files = migrationSet({ round });
      const dir = writeMigrationsDir(files);
      const database = await createTestDatabase("cli_rollback_race");
      try {
        const setup = await runCli([...directArgs(["apply"], database.url, dir), "--to", target]);
        expect(setup.code, describeRun(setup)).toBe(0);

        const [rollback, ...applies] = await Promise.all([
          runCli([...directArgs(["rollback", target], database.url, dir), "--actor", "rollbacker"]),
          ...Array.from({ length: APPLIERS - 1 }, (_, i) =>
            runCli([...directArgs(["apply"], database.url, dir), "--actor", `applier-${i}`]),
          ),
        ]);
        expectDocumentedOutcomes(applies);
        const { events } = await tracking(database.url);
        const history = (name: string) =>
          events.filter((e) => e.migration_name === name).map((e) => `${e.action}:${e.outcome}`);
        const rollbackWent = (rollback?.json?.result as { status?: string } | undefined)?.status;

        if (rollbackWent === "rolled_back") {
          // Rollback first: the appliers then found both pending, and one applied them.
          figures.add("rollback first");
          expect(appliedCounts(applies)).toEqual({ [target]: 1, [last]: 1 });
          expect(history(target)).toEqual([
            "apply:succeeded",
            "rollback:succeeded",
            "apply:succeeded",
          ]);
        } else {
          // An applier first: the rollback then had to refuse, naming the newer migration.
          expect(rollback?.json?.error?.code, rollback && describeRun(rollback)).toBe(
            "ROLLBACK_ORDER",
          );
          expect(rollback?.json?.error?.message).toContain(last);
          figures.add("apply first");
          expect(appliedCounts(applies)).toEqual({ [last]: 1 });
          expect(history(target)).toEqual(["apply:succeeded"]);
        }
        expect(history(last)).toEqual(["apply:succeeded"]);
        const { rows } = await tracking(database.url);
        expect(rows.map((r) => r.status)).toEqual(MIGRATION_NAMES.map(() => "applied"));
        expect(await applyLog(database.url)).toEqual(
          Object.fromEntries(MIGRATION_NAMES.map((n) => [n.slice(0, 3), 1])),
        );
        expect(await catalog(database.url)).toEqual(serial);
        figures.add("rollback races");
      } finally {
        await database.drop();
        removeDir(dir);
      }
    }
  });
});
