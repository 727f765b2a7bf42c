import {
  ChecksumDriftError,
  EarlierPendingError,
  formatFileProblem,
  InvalidMigrationFileError,
  MigrationBlockedError,
  type MigrationFileProblem,
  MigrationNotFoundError,
  NoDownMigrationError,
  OutOfOrderError,
  RollbackOrderError,
  StateConflictError,
} from "./errors.ts";
import type { Bookkeeping } from "./executor.ts";
import {
  compareMigrationNames,
  comparePrefixes,
  type Migration,
  migrationPrefix,
  migrationSortKey,
} from "./migration.ts";
import { isInterrupted, type MigrationRecord } from "./records.ts";

/**
 * The planner: pure functions from (migrations on disk, rows recorded) to what is applied, what is
 * pending, what is wrong, and what a run would do. Nothing here does I/O.
 */

export interface PlanInput {
  migrations: readonly Migration[];
  records: readonly MigrationRecord[];
  /** Files that did not load. */
  fileProblems?: readonly MigrationFileProblem[] | undefined;
}

/**
 * A migration's state, derived from its file and its row:
 * - `applied`: recorded as applied (with or without a file; see `missing`).
 * - `pending`: not recorded, or rolled back, or failed in a transaction (nothing was left behind).
 * - `failed`: a non-transactional attempt failed midway: changes may be partly there.
 * - `interrupted`: a non-transactional attempt started and never finished.
 */
export type MigrationState = "applied" | "pending" | "failed" | "interrupted";

export type ChecksumState = "match" | "drift" | "unknown";

/** Everything a UI row needs about one migration. */
export interface MigrationView {
  name: string;
  prefix: string | null;
  state: MigrationState;
  /** There is a record of it but no file. */
  missing: boolean;
  /** Pending, and older than the newest applied migration. */
  outOfOrder: boolean;
  hasDown: boolean;
  transactional: boolean;
  checksum: { file: string | null; recorded: string | null; state: ChecksumState };
  appliedAt: Date | null;
  appliedBy: string | null;
  executionTimeMs: number | null;
  rolledBackAt: Date | null;
  rolledBackBy: string | null;
  /** The last failure recorded for it, including one a later retry may clear. */
  lastError: string | null;
  /** The up SQL of a migration that is not applied, for review before applying. */
  upSql: string | null;
}

export type ProblemKind =
  | "drift"
  | "missing"
  | "failed"
  | "interrupted"
  | "out_of_order"
  | "invalid_file";

export interface Problem {
  kind: ProblemKind;
  /** The migration concerned; for an invalid file, the file's stem when it has one. */
  migrationName: string | null;
  message: string;
  /** What the operator can do. */
  hint: string;
  /** Whether it stops applies until resolved. */
  blocking: boolean;
}

export interface StatusReport {
  /** Every known migration (files and records), in order. */
  migrations: MigrationView[];
  applied: MigrationView[];
  /** Not applied and runnable: pending, in order. */
  pending: MigrationView[];
  problems: Problem[];
  /** The most recently applied migration: the only one a rollback may run for. */
  lastApplied: string | null;
}

interface Analysis {
  report: StatusReport;
  byName: Map<
    string,
    { view: MigrationView; migration: Migration | null; record: MigrationRecord | null }
  >;
}

function analyse(input: PlanInput): Analysis {
  const files = new Map(input.migrations.map((m) => [m.name, m]));
  const records = new Map(input.records.map((r) => [r.migrationName, r]));
  // Each name's sort key is computed once: `list` over thousands of migrations stays linear
  // but for the sort itself, with no regex per comparison.
  const keys = new Map<string, string>();
  for (const name of files.keys()) keys.set(name, migrationSortKey(name));
  for (const name of records.keys()) if (!keys.has(name)) keys.set(name, migrationSortKey(name));
  const keyOf = (name: string) => keys.get(name) as string;
  const names = [...keys.keys()].sort((a, b) => compareKeys(keyOf(a), keyOf(b)));

  let newestApplied: string | null = null;
  let lastApplied: MigrationRecord | null = null;
  for (const record of input.records) {
    if (record.status !== "applied") continue;
    const key = keyOf(record.migrationName);
    if (newestApplied === null || key > keyOf(newestApplied)) {
      newestApplied = record.migrationName;
    }
    if (
      lastApplied === null ||
      record.appliedAt.getTime() > lastApplied.appliedAt.getTime() ||
      (record.appliedAt.getTime() === lastApplied.appliedAt.getTime() &&
        key > keyOf(lastApplied.migrationName))
    ) {
      lastApplied = record;
    }
  }
  const newestKey = newestApplied === null ? null : keyOf(newestApplied);

  const byName: Analysis["byName"] = new Map();
  const problems: Problem[] = [];
  const migrations: MigrationView[] = [];
  for (const name of names) {
    const migration = files.get(name) ?? null;
    const record = records.get(name) ?? null;
    const state: MigrationState =
      record?.status === "applied"
        ? "applied"
        : record?.status === "failed" && isInterrupted(record)
          ? "interrupted"
          : record?.status === "failed" && migration?.transactional === false
            ? "failed"
            : "pending";
    const recorded = record?.checksum ?? null;
    const checksumState: ChecksumState =
      state !== "applied" || migration === null || recorded === null
        ? "unknown"
        : recorded === migration.checksum
          ? "match"
          : "drift";
    const outOfOrder = state === "pending" && newestKey !== null && keyOf(name) < newestKey;
    const view: MigrationView = {
      name,
      prefix: migration?.prefix ?? migrationPrefix(name),
      state,
      missing: migration === null,
      outOfOrder,
      hasDown: migration?.down != null,
      transactional: migration?.transactional ?? true,
      checksum: { file: migration?.checksum ?? null, recorded, state: checksumState },
      appliedAt: record && record.status !== "rolled_back" ? record.appliedAt : null,
      appliedBy: record && record.status !== "rolled_back" ? record.appliedBy : null,
      executionTimeMs: record?.executionTimeMs ?? null,
      rolledBackAt: record?.rolledBackAt ?? null,
      rolledBackBy: record?.rolledBackBy ?? null,
      lastError: record?.errorMessage ?? null,
      upSql: state === "applied" ? null : (migration?.up ?? null),
    };
    migrations.push(view);
    byName.set(name, { view, migration, record });

    if (migration === null && record !== null && record.status !== "rolled_back") {
      problems.push({
        kind: "missing",
        migrationName: name,
        message: `${name} is recorded as ${state} but its file is missing.`,
        hint: "Restore the file (a deploy of an older build?), or roll it back with markOnly if it was undone.",
        blocking: false,
      });
    }
    if (state === "interrupted") {
      problems.push({
        kind: "interrupted",
        migrationName: name,
        message: `${name} was started${record?.appliedBy ? ` by ${record.appliedBy}` : ""} and never finished: it runs outside a transaction, so some of its changes may be in place.`,
        hint: `Inspect the database, then resolve ${name} as applied (finished by hand) or rolled_back (undone by hand, to run it again).`,
        blocking: true,
      });
    } else if (state === "failed") {
      problems.push({
        kind: "failed",
        migrationName: name,
        message: `${name} failed outside a transaction, so the statements before the failing one stay applied: ${record?.errorMessage ?? "no error recorded"}`,
        hint: `Inspect the database, then resolve ${name} as applied (finished by hand) or rolled_back (undone by hand, to run it again).`,
        blocking: true,
      });
    } else if (state === "pending" && record?.status === "failed") {
      problems.push({
        kind: "failed",
        migrationName: name,
        message: `${name} failed and was rolled back, leaving nothing behind: ${record.errorMessage ?? "no error recorded"}`,
        hint: "Fix the migration and apply it again.",
        blocking: false,
      });
    }
    if (checksumState === "drift") {
      problems.push({
        kind: "drift",
        migrationName: name,
        message: `${name} changed on disk after it was applied (checksum ${shortHash(recorded)} recorded, ${shortHash(migration?.checksum ?? null)} on disk).`,
        hint: `Restore the original file, or resolve ${name} with accept_checksum if the edit is cosmetic.`,
        blocking: true,
      });
    }
    if (outOfOrder) {
      problems.push({
        kind: "out_of_order",
        migrationName: name,
        message: `${name} is pending but older than ${newestApplied}, which is applied.`,
        hint: "Apply it explicitly with allowOutOfOrder if that is safe, or renumber it after the newest migration.",
        blocking: false,
      });
    }
  }
  for (const problem of input.fileProblems ?? []) {
    problems.push({
      kind: "invalid_file",
      migrationName: stemOf(problem.file),
      message: formatFileProblem(problem),
      hint: "Fix or remove the file; nothing can be applied until every migration file loads.",
      blocking: true,
    });
  }

  return {
    report: {
      migrations,
      applied: migrations.filter((m) => m.state === "applied"),
      pending: migrations.filter((m) => m.state === "pending" && !m.missing),
      problems,
      lastApplied: lastApplied?.migrationName ?? null,
    },
    byName,
  };
}

/** The state of every migration and every problem, for display. */
export function planStatus(input: PlanInput): StatusReport {
  return analyse(input).report;
}

/** What to apply: all pending (no target), one named migration, or everything up to a name. */
export type ApplyTarget =
  | { kind: "all" }
  | { kind: "one"; migrationName: string }
  | { kind: "upTo"; migrationName: string };

export interface ApplyPlan {
  /** Migrations to run, in order. */
  steps: Migration[];
  /** A named target that is already applied: reported as `already_applied`, nothing runs. */
  alreadyApplied: string[];
}

/**
 * Plans an apply, or throws the typed error that stops it before anything runs: invalid files,
 * interrupted or partly failed migrations, drift, an unknown target, earlier pending migrations
 * for a named target, out-of-order migrations not explicitly allowed.
 */
export function planApply(
  input: PlanInput,
  target: ApplyTarget,
  options: { allowOutOfOrder?: boolean | undefined } = {},
): ApplyPlan {
  const { report, byName } = analyse(input);
  if (input.fileProblems && input.fileProblems.length > 0) {
    throw new InvalidMigrationFileError(input.fileProblems);
  }
  const blocked = report.migrations.filter(
    (m) => m.state === "failed" || m.state === "interrupted",
  );
  if (blocked.length > 0) {
    throw new MigrationBlockedError(
      blocked.map((m) => m.name),
      `Applies are blocked: ${blocked.map((m) => `${m.name} (${m.state})`).join(", ")} ran outside a transaction and may have left partial changes.`,
    );
  }
  const drifted = report.migrations.filter((m) => m.checksum.state === "drift");
  if (drifted.length > 0) throw new ChecksumDriftError(drifted.map((m) => m.name));

  let steps: MigrationView[];
  if (target.kind === "all") {
    steps = report.pending;
  } else {
    const entry = byName.get(target.migrationName);
    if (!entry?.migration) throw new MigrationNotFoundError(target.migrationName);
    const prefix = entry.migration.prefix;
    if (target.kind === "one") {
      if (entry.view.state === "applied")
        return { steps: [], alreadyApplied: [target.migrationName] };
      const earlier = report.pending.filter(
        (m) => m.prefix !== null && comparePrefixes(m.prefix, prefix) < 0,
      );
      if (earlier.length > 0)
        throw new EarlierPendingError(
          target.migrationName,
          earlier.map((m) => m.name),
        );
      steps = [entry.view];
    } else {
      steps = report.pending.filter(
        (m) => m.prefix !== null && comparePrefixes(m.prefix, prefix) <= 0,
      );
    }
  }
  const outOfOrder = steps.filter((m) => m.outOfOrder);
  if (outOfOrder.length > 0 && !options.allowOutOfOrder) {
    throw new OutOfOrderError(
      outOfOrder.map((m) => m.name),
      report.applied.reduce(
        (newest, m) => (compareMigrationNames(m.name, newest) > 0 ? m.name : newest),
        "",
      ),
    );
  }
  return {
    steps: steps.map((m) => byName.get(m.name)?.migration as Migration),
    alreadyApplied: [],
  };
}

export type RollbackPlan =
  | { kind: "not_applied"; migrationName: string }
  | { kind: "run_down"; migration: Migration }
  | { kind: "mark_only"; migrationName: string; change: Bookkeeping };

/**
 * Plans a rollback of `migrationName`: only the most recently applied migration may be rolled
 * back; without a down section (or a file) only an explicit mark-only rollback is possible.
 */
export function planRollback(
  input: PlanInput,
  migrationName: string,
  options: { markOnly?: boolean | undefined } = {},
): RollbackPlan {
  const { report, byName } = analyse(input);
  const entry = byName.get(migrationName);
  if (!entry) throw new MigrationNotFoundError(migrationName);
  if (entry.view.state !== "applied") return { kind: "not_applied", migrationName };
  if (report.lastApplied !== null && report.lastApplied !== migrationName) {
    throw new RollbackOrderError(migrationName, report.lastApplied);
  }
  if (options.markOnly) {
    return {
      kind: "mark_only",
      migrationName,
      change: { kind: "mark_rolled_back", migrationName, action: "rollback", expect: ["applied"] },
    };
  }
  if (!entry.migration) throw new NoDownMigrationError(migrationName, "no_file");
  if (entry.migration.down === null)
    throw new NoDownMigrationError(migrationName, "no_down_section");
  return { kind: "run_down", migration: entry.migration };
}

/**
 * Plans a baseline: every migration up to and including `upTo` that is not applied gets recorded
 * as applied without running it.
 */
export function planBaseline(input: PlanInput, upTo: string): Bookkeeping[] {
  const { report, byName } = analyse(input);
  if (input.fileProblems && input.fileProblems.length > 0) {
    throw new InvalidMigrationFileError(input.fileProblems);
  }
  const target = byName.get(upTo)?.migration;
  if (!target) throw new MigrationNotFoundError(upTo);
  const changes: Bookkeeping[] = [];
  for (const view of report.migrations) {
    if (view.prefix === null || comparePrefixes(view.prefix, target.prefix) > 0) continue;
    const entry = byName.get(view.name);
    if (view.state === "applied" || !entry?.migration) continue;
    changes.push({
      kind: "mark_applied",
      migrationName: view.name,
      checksum: entry.migration.checksum,
      action: "baseline",
      expect: [entry.record?.status ?? "absent"],
    });
  }
  return changes;
}

/** How an operator clears a problem (SPEC §4 Resolve). */
export type Resolution = "applied" | "rolled_back" | "accept_checksum";

/** Plans a resolve, or throws `StateConflictError` when it does not fit the migration's state. */
export function planResolve(input: PlanInput, migrationName: string, as: Resolution): Bookkeeping {
  const { byName } = analyse(input);
  const entry = byName.get(migrationName);
  if (!entry) throw new MigrationNotFoundError(migrationName);
  const { view, migration, record } = entry;
  const current = record?.status ?? "absent";
  switch (as) {
    case "applied":
      if (view.state === "applied") {
        throw new StateConflictError(
          migrationName,
          `${migrationName} is already recorded as applied.`,
        );
      }
      if (!migration) throw new MigrationNotFoundError(migrationName);
      return {
        kind: "mark_applied",
        migrationName,
        checksum: migration.checksum,
        action: "resolve",
        expect: [current],
      };
    case "rolled_back":
      if (view.state === "applied") {
        throw new StateConflictError(
          migrationName,
          `${migrationName} is applied; resolve only clears failed or interrupted migrations.`,
          "Use rollback (with markOnly if it was undone by hand).",
        );
      }
      if (record?.status !== "failed") {
        throw new StateConflictError(
          migrationName,
          `${migrationName} is not failed or interrupted; there is nothing to resolve.`,
        );
      }
      return { kind: "mark_rolled_back", migrationName, action: "resolve", expect: ["failed"] };
    case "accept_checksum":
      if (view.checksum.state !== "drift" || !migration) {
        throw new StateConflictError(
          migrationName,
          `${migrationName} has no checksum drift to accept.`,
        );
      }
      return {
        kind: "accept_checksum",
        migrationName,
        checksum: migration.checksum,
        action: "resolve",
        expect: ["applied"],
      };
  }
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function shortHash(hash: string | null): string {
  return hash === null ? "none" : hash.slice(0, 12);
}

function stemOf(file: string): string | null {
  const base = file.split(/[\\/]/).pop() ?? file;
  return base.endsWith(".sql")
    ? base.slice(0, -4)
    : base.startsWith("memory:")
      ? base.slice(7)
      : null;
}
