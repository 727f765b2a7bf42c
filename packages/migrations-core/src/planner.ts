import {
  ChecksumDriftError,
  EarlierPendingError,
  formatFileProblem,
  InvalidInputError,
  InvalidMigrationFileError,
  LockBusyError,
  MigrationBlockedError,
  type MigrationFileProblem,
  MigrationNotFoundError,
  NoDownMigrationError,
  OutOfOrderError,
  RollbackOrderError,
  StateConflictError,
} from "./errors.ts";
import type { Bookkeeping } from "./executor.ts";
import { adoptedNote, type ForeignVersions } from "./foreign-history.ts";
import { capMessage } from "./message-cap.ts";
import {
  compareMigrationNames,
  comparePrefixes,
  type Migration,
  migrationPrefix,
  migrationSortKey,
  significantDigits,
} from "./migration.ts";
import {
  isInterrupted,
  isRollbackAttempt,
  type MigrationRecord,
  type Resolution,
} from "./records.ts";
import { describeRemedy, failedInTransactionRemedy, type Remedy } from "./remedies.ts";
import type { ForeignTool } from "./rules.ts";

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
 * - `running`: a non-transactional attempt started, and its runner is still working on it.
 */
export type MigrationState = "applied" | "pending" | "failed" | "interrupted" | "running";

export type ChecksumState = "match" | "drift" | "unknown";

/**
 * Everything a UI row needs about one migration. Its SQL is not here: a `list` stays small however
 * large the migrations are; the engine's `sql` reads one migration's on demand.
 */
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
  /** What the operator can do, as data each face words itself. */
  remedy: Remedy;
  /** What the operator can do, in plain words ({@link describeRemedy} of the remedy). */
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
          ? record.running
            ? "running"
            : "interrupted"
          : // Whether the attempt ran in a transaction is what its row says: editing the file
            // afterwards changes nothing of what it left behind.
            record?.status === "failed" &&
              (record.transactional ?? migration?.transactional) === false
            ? "failed"
            : "pending";
    const recorded = record?.checksum ?? null;
    // Rows written before the cap existed may hold a message of any size (SPEC §3).
    const lastError = record?.errorMessage == null ? null : capMessage(record.errorMessage);
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
      lastError: lastError,
    };
    migrations.push(view);
    byName.set(name, { view, migration, record });

    // SPEC §4 *Records without a file*: a rolled-back one is history; a failed or interrupted
    // one is a problem until resolved — and a resolve as applied leaves it applied, which is then
    // "no longer a problem". Nothing in an applied row tells that resolve from a file deleted
    // after an ordinary apply, so no applied migration without its file is a problem: the view
    // still says `missing`.
    if (migration === null && record?.status === "failed") {
      problems.push(
        problem("missing", name, `${name} is recorded as ${state} but its file is missing.`, {
          kind: "restore_file",
          migrationName: name,
          recorded: "failed",
        }),
      );
    }
    const rollbackAttempt = record !== null && isRollbackAttempt(record);
    const attempt = rollbackAttempt ? "rollback" : "apply";
    if (state === "interrupted" && rollbackAttempt) {
      problems.push(
        problem(
          "interrupted",
          name,
          `${name}'s rollback never finished (${lastError}): its down section runs outside a transaction, so part of it may have run.`,
          { kind: "resolve", migrationName: name, attempt },
          true,
        ),
      );
    } else if (state === "failed" && rollbackAttempt) {
      problems.push(
        problem(
          "failed",
          name,
          `${name}'s rollback ${(lastError ?? "").replace(/^rollback /, "")}: its down section runs outside a transaction, so the statements before the failing one stay done.`,
          { kind: "resolve", migrationName: name, attempt },
          true,
        ),
      );
    } else if (state === "interrupted") {
      problems.push(
        problem(
          "interrupted",
          name,
          `${name} was started${record?.appliedBy ? ` by ${record.appliedBy}` : ""} and never finished: it runs outside a transaction, so some of its changes may be in place.`,
          { kind: "resolve", migrationName: name, attempt },
          true,
        ),
      );
    } else if (state === "failed") {
      problems.push(
        problem(
          "failed",
          name,
          `${name} failed outside a transaction, so the statements before the failing one stay applied: ${lastError ?? "no error recorded"}`,
          { kind: "resolve", migrationName: name, attempt },
          true,
        ),
      );
    } else if (state === "pending" && record?.status === "failed") {
      problems.push(
        problem(
          "failed",
          name,
          `${name} failed and was rolled back, leaving nothing behind: ${lastError ?? "no error recorded"}`,
          // Only the message is recorded: a lock given up on is known by its words.
          failedInTransactionRemedy(name, { message: record.errorMessage }),
        ),
      );
    }
    if (checksumState === "drift") {
      problems.push(
        problem(
          "drift",
          name,
          `${name} changed on disk after it was applied (checksum ${shortHash(recorded)} recorded, ${shortHash(migration?.checksum ?? null)} on disk).`,
          { kind: "restore_or_accept_checksum", migrationNames: [name] },
          true,
        ),
      );
    }
    if (outOfOrder) {
      problems.push(
        problem(
          "out_of_order",
          name,
          `${name} is pending but older than ${newestApplied}, which is applied.`,
          { kind: "allow_out_of_order", migrationNames: [name] },
        ),
      );
    }
  }
  for (const fileProblem of input.fileProblems ?? []) {
    const blocking = fileProblem.severity === "error";
    problems.push(
      problem(
        "invalid_file",
        fileProblem.migrationName,
        formatFileProblem(fileProblem),
        { kind: "fix_file", file: fileProblem.file, blocking },
        blocking,
      ),
    );
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

function problem(
  kind: ProblemKind,
  migrationName: string | null,
  message: string,
  remedy: Remedy,
  blocking = false,
): Problem {
  return { kind, migrationName, message, remedy, hint: describeRemedy(remedy), blocking };
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
 * The load errors an apply of `target` would have to pass (SPEC §2): for all pending, every one;
 * for a named target (`one` or `upTo`), those of a file whose version is at or before the
 * target's, or unknown. Warnings never block.
 */
export function fileProblemsBlocking(
  problems: readonly MigrationFileProblem[] | undefined,
  target: ApplyTarget,
): MigrationFileProblem[] {
  const errors = (problems ?? []).filter((p) => p.severity === "error");
  if (target.kind === "all") return errors;
  const version = migrationPrefix(target.migrationName);
  return errors.filter(
    (p) => version === null || p.version === null || comparePrefixes(p.version, version) <= 0,
  );
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
  const analysis = analyse(input);
  const { report, byName } = analysis;
  const unloadable = fileProblemsBlocking(input.fileProblems, target);
  if (unloadable.length > 0) throw new InvalidMigrationFileError(unloadable);
  refuseWhileRunning(report);
  refuseWhileBlocked(analysis, "Applies are blocked", "");
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
  // SPEC §2: drift blocks any rollback of that migration until an operator resolves it.
  if (entry.view.checksum.state === "drift") throw new ChecksumDriftError([migrationName]);
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

/** What a rollback run covers: everything applied after a migration, or the newest N. */
export type RollbackRunTarget =
  | { kind: "to"; migrationName: string }
  | { kind: "steps"; count: number };

/** A planned rollback run: one step per migration, newest first, each its own unit. */
export interface RollbackRunPlan {
  steps: Exclude<RollbackPlan, { kind: "not_applied" }>[];
}

/**
 * Plans `rollback --to <name>` (every migration applied after `<name>`, which stays applied) or
 * `--steps N` (the newest N), newest first — "newest" as for a single rollback: the most recently
 * applied, ties (a baseline records several at one instant) broken by version — so that each step
 * is the one a single rollback would accept. Refuses the whole run, before anything runs, when
 * `<name>` is unknown or not applied, N is not a whole number ≥ 1 or more than are applied, a
 * migration of the run has drifted, or — unless `markOnly`, which marks them all — one has no
 * down section (or no file).
 */
export function planRollbackRun(
  input: PlanInput,
  target: RollbackRunTarget,
  options: { markOnly?: boolean | undefined } = {},
): RollbackRunPlan {
  const { report, byName } = analyse(input);
  const newestFirst = appliedNewestFirst(report);
  let chosen: MigrationView[];
  let description: string;
  if (target.kind === "to") {
    const name = target.migrationName;
    const entry = byName.get(name);
    if (!entry) throw new MigrationNotFoundError(name);
    if (entry.view.state !== "applied") {
      throw new StateConflictError(
        name,
        `Cannot roll back to ${name}: it is not applied (${entry.view.state}), so it cannot be the migration that stays applied.`,
        { kind: "name_applied_migration", migrationName: name },
      );
    }
    chosen = newestFirst.slice(
      0,
      newestFirst.findIndex((view) => view.name === name),
    );
    description = `everything applied after ${name}`;
  } else {
    const { count } = target;
    if (!Number.isInteger(count) || count < 1) {
      throw new InvalidInputError(`steps must be a whole number of at least 1 (got ${count}).`);
    }
    if (count > newestFirst.length) {
      throw new StateConflictError(
        null,
        `Cannot roll back the newest ${count} migrations: only ${newestFirst.length} ${newestFirst.length === 1 ? "is" : "are"} applied.`,
        { kind: "fewer_steps", applied: newestFirst.length },
      );
    }
    chosen = newestFirst.slice(0, count);
    description = count === 1 ? "the newest migration" : `the newest ${count} migrations`;
  }
  const drifted = chosen.filter((view) => view.checksum.state === "drift");
  if (drifted.length > 0) throw new ChecksumDriftError(drifted.map((view) => view.name));
  const steps: RollbackRunPlan["steps"] = [];
  for (const view of chosen) {
    const migration = byName.get(view.name)?.migration ?? null;
    if (options.markOnly) {
      steps.push({
        kind: "mark_only",
        migrationName: view.name,
        change: {
          kind: "mark_rolled_back",
          migrationName: view.name,
          action: "rollback",
          expect: ["applied"],
        },
      });
    } else if (migration === null) {
      // A file that is there but does not load is not a missing one: say which it is.
      const unloadable = (input.fileProblems ?? []).filter(
        (p) => p.severity === "error" && p.migrationName === view.name,
      );
      if (unloadable.length > 0) throw new InvalidMigrationFileError(unloadable);
      throw new NoDownMigrationError(view.name, "no_file", description);
    } else if (migration.down === null) {
      throw new NoDownMigrationError(view.name, "no_down_section", description);
    } else {
      steps.push({ kind: "run_down", migration });
    }
  }
  return { steps };
}

/** Applied migrations, most recently applied first (ties: the higher version first). */
function appliedNewestFirst(report: StatusReport): MigrationView[] {
  // `report.applied` is in version order, and the sort is stable: ties keep it, reversed.
  return [...report.applied]
    .reverse()
    .sort((a, b) => (b.appliedAt?.getTime() ?? 0) - (a.appliedAt?.getTime() ?? 0));
}

/** What `adopt` did, or did not do, with one version the other tool recorded. */
export type AdoptStatus =
  /** Recorded as applied here, as a baseline event saying where it came from. */
  | "adopted"
  /** Already recorded as applied here: nothing changed. */
  | "already_applied"
  /** Recorded as rolled back here: this engine's own record wins, nothing changed. */
  | "kept_rolled_back"
  /** No local migration file has this version: reported, not recorded. */
  | "no_local_file";

export interface AdoptResult {
  /** As the other tool recorded it. */
  version: string;
  /** The local migration it matched (by number: `001` = `1`), if any. */
  migrationName: string | null;
  status: AdoptStatus;
}

export interface AdoptPlan {
  changes: Bookkeeping[];
  /** One per distinct version, in version order. */
  results: AdoptResult[];
}

/**
 * Plans an adopt: each version the other tool recorded that matches a local file by number
 * (`001` = `1`) and has no record here — or only a failed attempt that left nothing behind — is
 * to be recorded as applied without running it. Versions without a file are reported, not
 * recorded; a migration recorded here as rolled back stays so (this engine's record is the newer
 * word). Refused, like a baseline, while a file does not load or a migration is failed or
 * interrupted outside a transaction.
 */
export function planAdopt(
  input: PlanInput,
  foreign: ForeignVersions,
  tool: ForeignTool,
): AdoptPlan {
  const analysis = analyse(input);
  const { report, byName } = analysis;
  const versions = [...new Set(foreign.versions.map((v) => v.trim()))].sort(compareVersions);
  // A file that does not load blocks the adopt only if it could be one of those to record: its
  // version is among the other tool's (or unknown).
  const wanted = new Set(versions.filter(isDigits).map(significantDigits));
  const unloadable = (input.fileProblems ?? []).filter(
    (p) =>
      p.severity === "error" && (p.version === null || wanted.has(significantDigits(p.version))),
  );
  if (unloadable.length > 0) throw new InvalidMigrationFileError(unloadable);
  refuseWhileRunning(report);
  refuseWhileBlocked(analysis, "Adopt is refused", "; resolve it first");
  const byDigits = new Map(input.migrations.map((m) => [significantDigits(m.prefix), m]));
  const changes: Bookkeeping[] = [];
  const results: AdoptResult[] = [];
  for (const version of versions) {
    const migration = isDigits(version) ? (byDigits.get(significantDigits(version)) ?? null) : null;
    if (migration === null) {
      results.push({ version, migrationName: null, status: "no_local_file" });
      continue;
    }
    const entry = byName.get(migration.name);
    const recorded = entry?.record?.status ?? "absent";
    if (entry?.view.state === "applied") {
      results.push({ version, migrationName: migration.name, status: "already_applied" });
    } else if (recorded === "rolled_back") {
      results.push({ version, migrationName: migration.name, status: "kept_rolled_back" });
    } else {
      changes.push({
        kind: "mark_applied",
        action: "baseline",
        migrationName: migration.name,
        checksum: migration.checksum,
        note: adoptedNote(tool, foreign.table, version),
        expect: [recorded],
      });
      results.push({ version, migrationName: migration.name, status: "adopted" });
    }
  }
  return { changes, results };
}

function isDigits(text: string): boolean {
  return /^[0-9]+$/.test(text);
}

/** Versions in numeric order (digit strings compared as numbers); anything else after, by text. */
function compareVersions(a: string, b: string): number {
  const da = isDigits(a);
  const db = isDigits(b);
  if (da && db) return comparePrefixes(a, b) || (a < b ? -1 : a > b ? 1 : 0);
  if (da !== db) return da ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Plans a baseline: every migration up to and including `upTo` that is not applied gets recorded
 * as applied without running it. Refused (SPEC §4), like an apply, while a migration is failed or
 * interrupted outside a transaction — wherever it is: it may have left partial changes, and
 * recording it (or anything around it) as applied would hide them; `resolve` is for that. A
 * transactional failure left nothing behind: that migration is pending, and may be baselined.
 */
export function planBaseline(input: PlanInput, upTo: string): Bookkeeping[] {
  const analysis = analyse(input);
  const { report, byName } = analysis;
  // Like an apply up to it: only a file at or before `upTo` that does not load blocks it.
  const unloadable = fileProblemsBlocking(input.fileProblems, {
    kind: "upTo",
    migrationName: upTo,
  });
  if (unloadable.length > 0) throw new InvalidMigrationFileError(unloadable);
  refuseWhileRunning(report);
  refuseWhileBlocked(analysis, "Baseline is refused", "; resolve it first");
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

/**
 * The failed events owed to `transaction:false` attempts the read shows interrupted (never to
 * running ones): one `record_interrupted` change each, for an operation that writes under the lock
 * to record first. Whether each is written, and only once, is decided under the unit lock.
 */
export function planInterrupted(input: PlanInput): Bookkeeping[] {
  const { report, byName } = analyse(input);
  return report.migrations
    .filter((view) => view.state === "interrupted")
    .map((view) => {
      const record = byName.get(view.name)?.record ?? null;
      return {
        kind: "record_interrupted",
        migrationName: view.name,
        action: record !== null && isRollbackAttempt(record) ? "rollback" : "apply",
      };
    });
}

export type { Resolution } from "./records.ts";

/** Plans a resolve, or throws `StateConflictError` when it does not fit the migration's state. */
export function planResolve(input: PlanInput, migrationName: string, as: Resolution): Bookkeeping {
  const { byName } = analyse(input);
  const entry = byName.get(migrationName);
  if (!entry) throw new MigrationNotFoundError(migrationName);
  const { view, migration, record } = entry;
  if (view.state === "running") {
    throw new StateConflictError(
      migrationName,
      `${migrationName} is running (${record?.appliedBy ?? "another applier"} started it and is still working on it): there is nothing to resolve yet.`,
      { kind: "wait_for_other_run" },
    );
  }
  const current = record?.status ?? "absent";
  switch (as) {
    case "applied":
      if (view.state === "applied") {
        throw new StateConflictError(
          migrationName,
          `${migrationName} is already recorded as applied.`,
        );
      }
      if (migration) {
        return {
          kind: "mark_applied",
          migrationName,
          checksum: migration.checksum,
          action: "resolve",
          expect: [current],
        };
      }
      // SPEC §4 *Records without a file*: a failed or interrupted attempt whose file is gone can
      // still be declared finished by hand; its checksum is the one its attempt recorded.
      if (record?.status !== "failed") {
        throw new StateConflictError(
          migrationName,
          `${migrationName} cannot be resolved as applied: it is recorded as rolled back and its file is gone, so there is nothing to record it with. Restore the file first.`,
        );
      }
      if (record.checksum === null) {
        throw new StateConflictError(
          migrationName,
          `${migrationName} cannot be resolved as applied: its file is gone and its record holds no checksum to record it with. Restore the file, then resolve it; or, if it was undone by hand, resolve it as rolled back.`,
        );
      }
      return {
        kind: "mark_applied",
        migrationName,
        checksum: record.checksum,
        action: "resolve",
        expect: ["failed"],
      };
    case "rolled_back":
      if (view.state === "applied") {
        throw new StateConflictError(
          migrationName,
          `${migrationName} is applied; resolve only clears failed or interrupted migrations: roll it back instead (marking it only, if it was undone by hand).`,
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

/**
 * A migration failed or interrupted outside a transaction may have left partial changes: what
 * would build on it (an apply, a baseline, an adopt) waits until it is resolved.
 */
function refuseWhileBlocked({ report, byName }: Analysis, refused: string, advice: string): void {
  const blocked = report.migrations.filter(
    (m) => m.state === "failed" || m.state === "interrupted",
  );
  if (blocked.length === 0) return;
  throw new MigrationBlockedError(
    blocked.map((m) => {
      const record = byName.get(m.name)?.record ?? null;
      return {
        migrationName: m.name,
        attempt: record !== null && isRollbackAttempt(record) ? "rollback" : "apply",
      };
    }),
    `${refused}: ${blocked.map((m) => `${m.name} (${m.state})`).join(", ")} ran outside a transaction and may have left partial changes${advice}.`,
  );
}

/**
 * A `transaction:false` migration whose runner is still working: nothing that must come after it
 * (an apply, a baseline, an adopt) may run now. Not a problem — it is shown running — but a wait.
 */
function refuseWhileRunning(report: StatusReport): void {
  const running = report.migrations.find((m) => m.state === "running");
  if (running) {
    throw new LockBusyError(
      `${running.appliedBy ?? "another applier"}, running ${running.name}`,
      0,
    );
  }
}
