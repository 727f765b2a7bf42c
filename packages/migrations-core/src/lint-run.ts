import { UnsupportedError } from "./errors.ts";
import type { Executor, MigrationTimeouts } from "./executor.ts";
import type { LintReport, MigrationLinter, MigrationLintOptions } from "./lint.ts";
import type { Migration } from "./migration.ts";

/** How a host hands the engine its linter: loaded on first use (the parser is WebAssembly). */
export type LinterLoader = () => Promise<MigrationLinter>;

/** The linter, or `UnsupportedError` naming what asked for it when the engine has none. */
export async function requireLinter(
  load: LinterLoader | undefined,
  what: string,
): Promise<MigrationLinter> {
  if (load === undefined) {
    throw new UnsupportedError(
      `Cannot ${what}: this engine was set up without a linter (EngineOptions.linter).`,
      {
        hint: "Pass the lint's loader, loadLinter from @studio/migrations-lint, where the engine is created.",
      },
    );
  }
  return load();
}

/**
 * Lints `migrations` (up sections, in the order given) with the target's sizes when the executor
 * can read them: every relation the lint names is asked about in one read, so each finding on an
 * existing table carries its rows and bytes, and the sessions in its way.
 */
export async function lintWithSizes(
  linter: MigrationLinter,
  executor: Executor,
  migrations: readonly Migration[],
  timeouts: MigrationTimeouts | undefined,
): Promise<LintReport> {
  const options: { -readonly [K in keyof MigrationLintOptions]: MigrationLintOptions[K] } = {};
  // Only a limit set for this run is known here; the executor's own default is not exposed.
  if (timeouts?.lockTimeoutMs !== undefined) options.lockTimeout = `${timeouts.lockTimeoutMs}ms`;
  if (executor.readRelationSizes !== undefined && migrations.length > 0) {
    const names = linter.relationsToSize(migrations);
    options.sizes = names.length === 0 ? [] : await executor.readRelationSizes(names);
  }
  return linter.lint(migrations, options);
}
