import { hostname } from "node:os";
import { createMigrationEngine, directorySource } from "@studio/migrations-core";
import { attemptLogLine } from "@studio/migrations-trpc";
import { describeDatabase, studioConfig } from "./config.ts";
import { studioMigrations } from "./migrations.ts";

/** Replicas starting together wait this long for the one that applies. */
const AUTO_APPLY_LOCK_TIMEOUT_MS = 15 * 60_000;

export async function startStudio(): Promise<void> {
  const config = studioConfig();
  console.log(
    `[studio] database: ${describeDatabase(config.database)}; migrations: ${config.migrationsDir}`,
  );
  // The embedded database is opened now, not on the first request, so that a second Studio on
  // the same data directory refuses to start (naming the first) instead of serving errors.
  if (config.database.kind === "pglite") {
    await studioMigrations();
    console.log(
      `[studio] the embedded database is locked for process ${process.pid} on ${hostname()}`,
    );
  }
  // The one time a generated secret is printed: later starts say where it is kept instead.
  if (config.secretOrigin === "generated") {
    console.log(
      `[studio] MIGRATION_SECRET is not set: generated one, kept for this data directory in ${config.secretFile} (readable by this user only). Sign in with: ${config.secret}`,
    );
  } else if (config.secretOrigin === "kept") {
    console.log(
      `[studio] MIGRATION_SECRET is not set: using the one generated on an earlier start, kept in ${config.secretFile}.`,
    );
  }
  if (!config.autoApply) return;

  // Applied under the same lock as every other applier: of several replicas starting together one
  // applies and the others wait, then find nothing pending. A failure is logged and Studio still
  // starts, with the problem visible in the list.
  const actor = `studio:auto-apply@${hostname()}`;
  try {
    const { executor } = await studioMigrations();
    const engine = createMigrationEngine({
      executor,
      source: directorySource(config.migrationsDir),
      lockTimeoutMs: AUTO_APPLY_LOCK_TIMEOUT_MS,
      onAttempt: (attempt) => console.log(attemptLogLine(attempt)),
    });
    const report = await engine.apply({ actor });
    const applied = report.results.filter((r) => r.status === "applied").length;
    if (report.failed) {
      console.error(
        `[studio] auto-apply stopped at ${report.failed.migrationName}: ${report.failed.error?.message ?? "failed"}`,
      );
    } else {
      console.log(
        `[studio] auto-apply: ${applied === 0 ? "nothing pending" : `${applied} applied`}`,
      );
    }
  } catch (error) {
    console.error(
      `[studio] auto-apply failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
