import {
  type ApplyReport,
  createMigrationEngine,
  directorySource,
  type MigrationEngine,
  type RollbackReport,
} from "@studio/migrations-core";
import { createPostgresExecutor } from "@studio/migrations-postgres";

export const ACTOR = "differential";

/** The engine through its public API: a directory of files, a direct PostgreSQL executor. */
export async function withEngine<T>(
  url: string,
  dir: string,
  use: (engine: MigrationEngine) => Promise<T>,
): Promise<T> {
  const executor = createPostgresExecutor({ connection: url });
  const engine = createMigrationEngine({ executor, source: directorySource(dir) });
  try {
    return await use(engine);
  } finally {
    await executor.close();
  }
}

/** What went wrong in a run, in one line per step that did not apply. */
function describeFailures(report: ApplyReport): string {
  return report.results
    .filter((step) => step.status !== "applied")
    .map(
      (step) =>
        `${step.migrationName}: ${step.status}${step.error ? ` (${step.error.message})` : ""}`,
    )
    .join("\n");
}

/** Throws, naming the step and its error, unless every step of the run was applied. */
export function requireAllApplied(report: ApplyReport, expected?: number): ApplyReport {
  const applied = report.results.filter((step) => step.status === "applied").length;
  if (report.failed !== null || applied !== (expected ?? report.results.length)) {
    throw new Error(`the engine did not apply everything:\n${describeFailures(report)}`);
  }
  return report;
}

/** Every pending migration, in one run (one engine, one lock). */
export async function engineApplyAll(url: string, dir: string): Promise<ApplyReport> {
  return withEngine(url, dir, (engine) => engine.apply({ actor: ACTOR }));
}

/**
 * One migration per run: a new engine (new connections) for each pending migration, as a deploy
 * that runs `apply <name>` once per release would. Returns the names applied, in order.
 */
export async function engineApplyOnePerRun(url: string, dir: string): Promise<string[]> {
  const pending = await withEngine(url, dir, async (engine) =>
    (await engine.list()).pending.map((m) => m.name),
  );
  const applied: string[] = [];
  for (const name of pending) {
    const report = await withEngine(url, dir, (engine) =>
      engine.apply({ migrationName: name, actor: ACTOR }),
    );
    requireAllApplied(report, 1);
    applied.push(name);
  }
  return applied;
}

/**
 * Rolls back the most recently applied migration `steps` times (all of them when `steps` is
 * `"all"`). A migration without a down section is marked rolled back (`markOnly`), the explicit
 * step SPEC §4 requires: nothing runs, as with dbmate's empty down section.
 */
export async function engineRollback(
  url: string,
  dir: string,
  steps: number | "all",
): Promise<RollbackReport[]> {
  return withEngine(url, dir, async (engine) => {
    const reports: RollbackReport[] = [];
    for (let i = 0; steps === "all" || i < steps; i++) {
      const status = await engine.list();
      const last = status.lastApplied;
      if (last === null) {
        if (steps === "all") break;
        throw new Error(`nothing left to roll back after ${i} of ${steps} steps`);
      }
      const view = status.migrations.find((m) => m.name === last);
      const report = await engine.rollback({
        migrationName: last,
        markOnly: view?.hasDown === false,
        actor: ACTOR,
      });
      if (report.status !== "rolled_back" && report.status !== "marked_rolled_back") {
        throw new Error(
          `rolling back ${last} answered ${report.status}${report.error ? `: ${report.error.message}` : ""}`,
        );
      }
      reports.push(report);
    }
    return reports;
  });
}

/** The migrations the engine has recorded as applied, in order. */
export async function engineApplied(url: string, dir: string): Promise<string[]> {
  return withEngine(url, dir, async (engine) => (await engine.list()).applied.map((m) => m.name));
}
