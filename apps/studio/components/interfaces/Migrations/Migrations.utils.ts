import type { MigrationsRouter } from "@studio/migrations-trpc";
import { isTRPCClientError } from "@trpc/client";
import type {
  AdoptReport,
  ApplyReport,
  BaselineReport,
  DisplayStatus,
  ForeignTool,
  MigrationView,
  Problem,
  Resolution,
  ResolveReport,
  RollbackOutput,
  RollbackRunReport,
  StatusReport,
} from "./Migrations.types";

/** A row's status, with the problems the planner found for it taking precedence. */
export function displayStatus(view: MigrationView, problems: readonly Problem[]): DisplayStatus {
  if (view.missing) return "missing";
  if (view.state === "interrupted") return "interrupted";
  if (view.state === "running") return "running";
  if (view.state === "failed") return "failed";
  if (view.state === "applied") return "applied";
  if (view.outOfOrder) return "out_of_order";
  // Failed inside a transaction: pending again, nothing left behind, but the failure is news.
  if (problems.some((p) => p.kind === "failed" && p.migrationName === view.name)) return "failed";
  if (view.rolledBackAt) return "rolled_back";
  return "pending";
}

export const STATUS_LABELS: Record<DisplayStatus, string> = {
  applied: "Applied",
  pending: "Pending",
  failed: "Failed",
  interrupted: "Interrupted",
  running: "Running",
  rolled_back: "Rolled back",
  missing: "Missing file",
  out_of_order: "Out of order",
};

export const PROBLEM_LABELS: Record<Problem["kind"], string> = {
  drift: "Checksum drift",
  missing: "Missing file",
  failed: "Failed",
  interrupted: "Interrupted",
  out_of_order: "Out of order",
  invalid_file: "Invalid file",
};

/**
 * A problem's label on the page. A file problem that blocks nothing is a warning (SPEC §2: a
 * misnamed `.sql` file, a marker option dbmate ignores): the migration loads, or the file was
 * never one, so it must not read like a file that stops applies.
 */
export function problemLabel(problem: Pick<Problem, "kind" | "blocking">): string {
  if (problem.kind === "invalid_file" && !problem.blocking) return "File warning";
  return PROBLEM_LABELS[problem.kind];
}

export const RESOLUTION_LABELS: Record<Resolution, string> = {
  applied: "Mark applied",
  rolled_back: "Mark rolled back",
  accept_checksum: "Accept new checksum",
};

type Remedy = Problem["remedy"];

/**
 * What to do, in the page's own terms: the buttons to press here. The core sends the remedy as
 * data (SPEC: each face words it), so the page never shows an API option's name.
 */
export function remedyText(remedy: Remedy): string {
  switch (remedy.kind) {
    case "wait_for_other_run":
      return "Another run is in progress: wait for it to finish, then try again.";
    case "resolve":
      return remedy.attempt === "apply"
        ? `Inspect the database, then press “${RESOLUTION_LABELS.applied}” if ${remedy.migrationName} was finished by hand, or “${RESOLUTION_LABELS.rolled_back}” if it was undone by hand (it then runs again with the next apply).`
        : `Inspect the database, then press “${RESOLUTION_LABELS.rolled_back}” if you finished ${remedy.migrationName}'s down section by hand, or “${RESOLUTION_LABELS.applied}” if you undid what of it ran (it stays applied).`;
    case "restore_or_accept_checksum":
      return `Restore the original file, or, if the edit is cosmetic, press “${RESOLUTION_LABELS.accept_checksum}” on the problem.`;
    case "allow_out_of_order":
      return "If running it now is safe, use “Apply out of order” on its row; otherwise renumber the file after the newest migration.";
    case "apply_up_to":
      return `Apply the earlier pending migrations first (“Apply all” applies them in order), or, if they were applied by hand, record them with a baseline up to ${remedy.lastPendingBefore}.`;
    case "roll_back_first":
      return `Roll back ${remedy.migrationName} first, from its row.`;
    case "mark_rolled_back":
      return remedy.inRun
        ? `Roll back what was applied after ${remedy.migrationName} first (“Roll back to here” on its row), then undo it by hand and use “Mark rolled back” on its row.`
        : `Undo ${remedy.migrationName} by hand if needed, then use “Mark rolled back” on its row (no SQL runs).`;
    case "restore_file":
      return remedy.recorded === "applied"
        ? `Restore the file of ${remedy.migrationName} (is an older build deployed?), or, if it was undone by hand, use “Mark rolled back” on its row.`
        : `Restore the file of ${remedy.migrationName} (is an older build deployed?), or, if it is gone for good, inspect the database and press “${RESOLUTION_LABELS.applied}” (finished by hand) or “${RESOLUTION_LABELS.rolled_back}” (undone by hand).`;
    case "fix_and_apply":
      return `Fix ${remedy.migrationName}'s file, then apply it again.`;
    case "wait_for_lock":
      return `${remedy.migrationName}'s SQL needs no fix: another session held a lock it needed (the failure names that session). End the session or wait for it to finish, then apply ${remedy.migrationName} again. If writers to that table can queue behind it for longer, apply it from studio-migrate with a longer lock timeout for that run.`;
    case "fix_file":
      return remedy.blocking
        ? `Fix or remove ${remedy.file}. Until it loads, only migrations before it can be applied; rollbacks and history go on.`
        : `Nothing is blocked; fix ${remedy.file} to clear the warning.`;
    case "check_name":
      return `${remedy.migrationName} is not among the migrations any more: refresh to see the current list.`;
    case "name_history_table":
      return remedy.tool === "dbmate"
        ? "Name the table dbmate used (its --migrations-table), schema-qualified if needed."
        : "The Supabase CLI keeps its history in supabase_migrations.schema_migrations; name the table if it is elsewhere.";
    case "name_applied_migration":
      return `${remedy.migrationName} is not applied: roll back to an applied migration.`;
    case "fewer_steps":
      return `Only ${plural(remedy.applied, "migration is", "migrations are")} applied.`;
    case "refresh_and_retry":
      return "The state changed meanwhile: look at the refreshed list, then try again.";
    case "check_state_then_retry":
      return "The database did not answer: check the migration's state in the refreshed list before retrying.";
  }
}

/**
 * The line above the table: what can be applied now. "Up to date" only when that is known — the
 * last refresh worked — and true: nothing pending, nothing blocking, nothing running.
 */
export function applyNote(report: StatusReport, stale: boolean): string {
  if (stale) return "Not known to be up to date: the last refresh failed.";
  const running = report.migrations.find((m) => m.state === "running");
  if (running) return `${running.name} is running: applies wait until it finishes.`;
  const pending = report.pending.length;
  if (report.problems.some((p) => p.blocking)) {
    return pending > 0
      ? "Applies are blocked until the problems above are resolved."
      : "Nothing is pending, but the problems above block applies until they are resolved.";
  }
  if (pending > 1) {
    return "Pending migrations apply in order: only the first can be applied on its own.";
  }
  if (pending === 1) return "One migration is pending.";
  return "Up to date: nothing is pending.";
}

/**
 * The resolutions that fit a problem (SPEC §4 Resolve); none for those only a file edit fixes.
 * A migration whose file is gone resolves like any other (SPEC §4 *Records without a file*):
 * "applied" keeps the checksum recorded when it was started.
 */
export function resolutionsFor(problem: Problem): Resolution[] {
  switch (problem.kind) {
    case "missing":
      // A failed attempt whose file is gone: once the database is inspected, recorded as
      // finished or as undone by hand, it is no longer a problem.
      return problem.remedy.kind === "restore_file" && problem.remedy.recorded === "failed"
        ? ["applied", "rolled_back"]
        : [];
    case "interrupted":
      return ["applied", "rolled_back"];
    case "failed":
      // A failure inside a transaction left nothing behind: the fix is to the file, not the record.
      return problem.blocking ? ["applied", "rolled_back"] : [];
    case "drift":
      return ["accept_checksum"];
    case "out_of_order":
      // Applied by hand and never recorded.
      return ["applied"];
    default:
      return [];
  }
}

export function formatDuration(ms: number | null): string {
  if (ms === null) return "—";
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1_000)} s`;
}

/**
 * A statement's time in a rehearsal, measured to the microsecond: fractions where they are what
 * there is to see (`0.42 ms`, `3.1 ms`), as {@link formatDuration} from 10 ms on.
 */
export function formatStatementTime(ms: number): string {
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  return formatDuration(ms);
}

export function shortHash(hash: string | null): string {
  return hash === null ? "none" : hash.slice(0, 12);
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** What Postgres said about a migration that failed. */
export interface SqlFailureView {
  message: string;
  code: string | null;
  detail: string | null;
  hint: string | null;
  position: number | null;
}

/** One step of a failed apply or rollback, as far as the browser can tell from `results`. */
export interface StepView {
  migrationName: string;
  status: string;
  /** Whether its SQL ran in a transaction (its up section's, or for a rollback its down's). */
  transactional?: boolean;
}

export interface ErrorView {
  status: number | null;
  /** The core's stable code, e.g. `CHECKSUM_DRIFT`, or tRPC's. */
  code: string | null;
  title: string;
  message: string;
  hint: string | null;
  migrationName: string | null;
  failure: SqlFailureView | null;
  steps: StepView[];
}

const STATUS_TITLES: Record<number, string> = {
  400: "The request was not valid",
  403: "Not allowed",
  404: "Not found",
  409: "Refused",
  412: "Not possible yet",
  503: "The database is unavailable",
};

/** Everything worth showing about a failed call, from tRPC's error and its `data.migration`. */
export function describeError(error: unknown, action: string): ErrorView {
  if (!isTRPCClientError<MigrationsRouter>(error)) {
    return {
      status: null,
      code: null,
      title: `${action} failed`,
      message: error instanceof Error ? error.message : "Studio could not be reached.",
      hint: "Check your connection and try again.",
      migrationName: null,
      failure: null,
      steps: [],
    };
  }
  const status = error.data?.httpStatus ?? null;
  const migration = error.data?.migration ?? null;
  const failure = migration?.failure ?? null;
  const migrationName = migration?.migrationName ?? null;
  const lintRefused = migration?.code === "LINT_REFUSED";
  const title =
    failure && migrationName
      ? `Migration ${migrationName} failed`
      : lintRefused
        ? "Stopped by the lint: nothing ran"
        : migration?.code === "DATABASE_REFUSED"
          ? // Also a 503, but not an outage: the database answered and refused Studio's role.
            "The database refused"
          : ((status !== null ? STATUS_TITLES[status] : undefined) ?? `${action} failed`);
  return {
    status,
    code: migration?.code ?? error.data?.code ?? null,
    title,
    message: failure ? failure.message : readableMessage(error.message),
    hint: migration?.remedy
      ? remedyText(migration.remedy)
      : lintRefused
        ? // The core's hint names API options; on the page the way on is the confirmation.
          "Open Apply again to see the findings: make the statements safe, accept them with a -- lint:ignore comment, or apply despite them."
        : (migration?.hint ?? failure?.hint ?? null),
    migrationName,
    failure,
    steps: (migration?.results ?? []).filter(isStepView),
  };
}

/** tRPC sends zod's issues as a JSON array for invalid input: one readable line per issue. */
function readableMessage(message: string): string {
  if (!message.startsWith("[")) return message;
  try {
    const issues: unknown = JSON.parse(message);
    if (!Array.isArray(issues)) return message;
    const lines = issues.flatMap((issue: unknown) => {
      if (typeof issue !== "object" || issue === null || !("message" in issue)) return [];
      const path = "path" in issue && Array.isArray(issue.path) ? issue.path.join(".") : "";
      return [path ? `${path}: ${String(issue.message)}` : String(issue.message)];
    });
    return lines.length > 0 ? lines.join("; ") : message;
  } catch {
    return message;
  }
}

function isStepView(value: unknown): value is StepView {
  if (typeof value !== "object" || value === null) return false;
  return (
    "migrationName" in value &&
    typeof value.migrationName === "string" &&
    "status" in value &&
    typeof value.status === "string"
  );
}

/**
 * Query options for `migrations.sql`: nothing kept once a dialog closes, nothing reused when one
 * opens — the file may have been edited in between, and a review must show what is there now.
 */
export const FRESH_SQL = { staleTime: 0, gcTime: 0 } as const;

/** The headline of a finished apply. */
export function summariseApply(report: ApplyReport): { title: string; detail: string | null } {
  const applied = report.results.filter((r) => r.status === "applied");
  const total = applied.reduce((sum, r) => sum + (r.executionTimeMs ?? 0), 0);
  if (applied.length === 0) {
    return { title: "Nothing to apply", detail: "Every migration asked for is already applied." };
  }
  const [only] = applied;
  if (applied.length === 1 && only) {
    return { title: `Applied ${only.migrationName}`, detail: `in ${formatDuration(total)}` };
  }
  return {
    title: `Applied ${plural(applied.length, "migration")}`,
    detail: `${applied.map((r) => r.migrationName).join(", ")} in ${formatDuration(total)}`,
  };
}

export function summariseRollback(report: RollbackOutput): {
  title: string;
  detail: string | null;
} {
  if ("results" in report) return summariseRollbackRun(report);
  switch (report.status) {
    case "rolled_back":
      return {
        title: `Rolled back ${report.migrationName}`,
        detail: `in ${formatDuration(report.executionTimeMs)}; it is pending again`,
      };
    case "marked_rolled_back":
      return {
        title: `Marked ${report.migrationName} as rolled back`,
        detail: "No SQL ran; it is pending again",
      };
    case "not_applied":
      return {
        title: `${report.migrationName} is not applied`,
        detail: "Nothing was rolled back.",
      };
    default:
      return { title: `Rollback of ${report.migrationName}: ${report.status}`, detail: null };
  }
}

/** The headline of a finished "Roll back to here" (a run of rollbacks). */
function summariseRollbackRun(report: RollbackRunReport): { title: string; detail: string | null } {
  const done = report.results.filter(
    (r) => r.status === "rolled_back" || r.status === "marked_rolled_back",
  );
  if (done.length === 0) {
    return {
      title: "Nothing to roll back",
      detail: report.to ? `Nothing is applied after ${report.to}.` : null,
    };
  }
  const total = done.reduce((sum, r) => sum + (r.executionTimeMs ?? 0), 0);
  return {
    title: `Rolled back ${plural(done.length, "migration")}${report.to ? ` to ${report.to}` : ""}`,
    detail: `${done.map((r) => r.migrationName).join(", ")} in ${formatDuration(total)}; they are pending again`,
  };
}

export const FOREIGN_TOOL_LABELS: Record<ForeignTool, string> = {
  dbmate: "dbmate",
  supabase: "Supabase CLI",
};

/** The headline of a finished adopt: what was recorded, and what was not and why. */
export function summariseAdopt(report: AdoptReport): { title: string; detail: string | null } {
  const count = (status: AdoptReport["results"][number]["status"]) =>
    report.results.filter((r) => r.status === status);
  const adopted = count("adopted");
  const notes = [
    count("already_applied").length > 0
      ? `${plural(count("already_applied").length, "was", "were")} already applied`
      : null,
    count("kept_rolled_back").length > 0
      ? `${plural(count("kept_rolled_back").length, "stays", "stay")} rolled back here`
      : null,
    count("no_local_file").length > 0
      ? `no local file for version ${count("no_local_file")
          .map((r) => r.version)
          .join(", ")}`
      : null,
  ].filter((note) => note !== null);
  return {
    title:
      adopted.length === 0
        ? `Nothing to adopt from ${FOREIGN_TOOL_LABELS[report.from]}`
        : `Adopted ${plural(adopted.length, "migration")} from ${FOREIGN_TOOL_LABELS[report.from]}`,
    detail: [
      adopted.length > 0
        ? `${adopted.map((r) => r.migrationName).join(", ")} recorded as applied from ${report.table}; no SQL ran.`
        : `Read ${report.table}: ${plural(report.results.length, "version")}.`,
      notes.length > 0 ? `${notes.join("; ")}.` : null,
    ]
      .filter((part) => part !== null)
      .join(" "),
  };
}

/** The headline of a finished baseline: what was recorded as applied, with nothing run. */
export function summariseBaseline(report: BaselineReport): {
  title: string;
  detail: string | null;
} {
  const baselined = report.results.filter((r) => r.status === "baselined");
  if (baselined.length === 0) {
    return {
      title: "Nothing to baseline",
      detail: "Every migration up to there is already applied.",
    };
  }
  return {
    title: `Baselined ${plural(baselined.length, "migration")}`,
    detail: `${baselined.map((r) => r.migrationName).join(", ")} recorded as applied; no SQL ran.`,
  };
}

/** The headline of a finished resolve: the state it recorded. */
export function summariseResolve(report: ResolveReport): { title: string; detail: string | null } {
  return {
    title: `Resolved ${report.migrationName}`,
    detail: `${report.before.replaceAll("_", " ")} → ${report.after.replaceAll("_", " ")}; no migration SQL ran.`,
  };
}
