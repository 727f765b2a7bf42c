import type { MigrationsRouter } from "@studio/migrations-trpc";
import { isTRPCClientError } from "@trpc/client";
import type {
  AdoptReport,
  ApplyReport,
  DisplayStatus,
  ForeignTool,
  MigrationView,
  Problem,
  Resolution,
  RollbackOutput,
  RollbackRunReport,
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

/** The resolutions that fit a problem (SPEC §4 Resolve); none for those only a file edit fixes. */
export function resolutionsFor(problem: Problem): Resolution[] {
  switch (problem.kind) {
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

const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric",
  month: "short",
  day: "numeric",
  hour: "2-digit",
  hourCycle: "h23",
  minute: "2-digit",
  second: "2-digit",
});

export function formatDateTime(date: Date): string {
  return dateTimeFormat.format(date);
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
  const title =
    failure && migrationName
      ? `Migration ${migrationName} failed`
      : migration?.code === "DATABASE_REFUSED"
        ? // Also a 503, but not an outage: the database answered and refused Studio's role.
          "The database refused"
        : ((status !== null ? STATUS_TITLES[status] : undefined) ?? `${action} failed`);
  return {
    status,
    code: migration?.code ?? error.data?.code ?? null,
    title,
    message: failure ? failure.message : readableMessage(error.message),
    hint: migration?.hint ?? failure?.hint ?? null,
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
