import { relative } from "node:path";
import type {
  AdoptReport,
  ApplyReport,
  ApplyStepResult,
  MigrationView,
  Resolution,
  RollbackRunReport,
  RollbackStepResult,
  SqlFailure,
  StatusReport,
} from "@studio/migrations-core";
import type { TargetInvocation } from "./args.ts";
import type { FailureInfo } from "./failures.ts";
import { problemHint } from "./hints.ts";
import { runLint } from "./lint-command.ts";
import {
  type Column,
  formatDuration,
  formatTime,
  type Printer,
  plural,
  renderTable,
  wrap,
} from "./output.ts";
import { runRehearse } from "./rehearse-command.ts";
import type { FinishedRollback, FinishedStep, Target } from "./target.ts";

/** What a command ends with: its exit code, what `--json` prints, and why it failed. */
export interface Outcome {
  exitCode: 0 | 1;
  result: unknown;
  failure: FailureInfo | null;
}

const ok = (result: unknown): Outcome => ({ exitCode: 0, result, failure: null });

export async function runTargetCommand(
  invocation: TargetInvocation,
  target: Target,
  p: Printer,
  cwd: string,
): Promise<Outcome> {
  switch (invocation.command) {
    case "status":
      return status(target, p, cwd);
    case "apply":
      return apply(invocation, target, p, cwd);
    case "rollback":
      return rollback(invocation, target, p, cwd);
    case "baseline":
      return baseline(invocation, target, p, cwd);
    case "resolve":
      return resolve(invocation, target, p, cwd);
    case "history":
      return history(invocation, target, p);
    case "adopt":
      return adopt(invocation, target, p, cwd);
    case "lint":
      return runLint(invocation, target, p, () => targetLines(p, target, cwd, false));
    case "rehearse":
      return runRehearse(invocation, target, p, () =>
        targetLines(p, target, cwd, true, " (rehearsal: rolled back, nothing is applied)"),
      );
  }
}

function targetLines(p: Printer, target: Target, cwd: string, withActor: boolean, note = ""): void {
  p.lines(wrap(targetLine(target, cwd, withActor) + note, p.width, "  ").map((l) => p.out.dim(l)));
}

function targetLine(target: Target, cwd: string, withActor: boolean): string {
  const { config } = target;
  const where =
    config.mode === "direct"
      ? `${config.label} (direct), migrations in ${displayPath(config.migrationsDir, cwd)}`
      : `Studio at ${config.label}`;
  return `Target: ${where}${withActor ? `, as ${config.actor}` : ""}`;
}

export function displayPath(path: string, cwd: string): string {
  const rel = relative(cwd, path);
  return rel === "" ? "." : rel.startsWith("..") || rel.startsWith("/") ? path : `./${rel}`;
}

// status ------------------------------------------------------------------------------------

const STATUS_COLUMNS: Column[] = [
  { header: "MIGRATION" },
  { header: "STATE" },
  { header: "APPLIED (UTC)", secondary: true },
  { header: "BY", elastic: true, secondary: true },
  { header: "TIME", align: "right", secondary: true },
  { header: "CHECKSUM" },
  { header: "NOTE" },
];

async function status(target: Target, p: Printer, cwd: string): Promise<Outcome> {
  const report = await target.list();
  targetLines(p, target, cwd, false);
  p.line();
  if (report.migrations.length === 0) {
    p.paragraph("No migrations: no files, and nothing recorded.");
  } else {
    const rows = report.migrations.map(statusRow);
    p.lines(
      renderTable(STATUS_COLUMNS, rows, p.width, (r, c, text) => {
        const view = report.migrations[r] as MigrationView;
        if (c === 1) {
          if (view.state === "applied") return p.out.green(text);
          if (view.state === "pending") return p.out.yellow(text);
          return p.out.red(text);
        }
        if (c === 5 && view.checksum.state === "drift") return p.out.red(text);
        if (c === 6 && text !== "") return p.out.yellow(text);
        return text;
      }),
    );
  }
  if (report.problems.length > 0) {
    p.line();
    p.line(p.out.bold("Problems:"));
    for (const problem of report.problems) {
      const label = `${problem.kind.replace(/_/g, " ")}${problem.blocking ? ", blocks applies" : ""}`;
      p.lines(wrap(`- ${label}: ${problem.message}`, p.width - 2, "    ").map((l) => `  ${l}`));
      p.lines(
        wrap(`hint: ${problemHint(problem, target.config.paste)}`, p.width - 4, "      ").map(
          (l) => `    ${l}`,
        ),
      );
    }
  }
  p.line();
  p.paragraph(statusSummary(report));

  if (report.problems.length === 0) return ok(report);
  const blocking = report.problems.filter((problem) => problem.blocking).length;
  return {
    exitCode: 1,
    result: report,
    failure: {
      code: "PROBLEMS",
      message: `${plural(report.problems.length, "problem")} to look at${
        blocking > 0 ? ` (${blocking} blocking applies)` : ""
      }: ${report.problems.map((problem) => `${problem.kind} ${problem.migrationName ?? ""}`.trim()).join(", ")}.`,
      hint: "Each problem is listed with what to do about it.",
      migrationName: null,
      failure: null,
      details: [],
    },
  };
}

function statusRow(view: MigrationView): string[] {
  const recorded = view.state !== "pending";
  const notes: string[] = [];
  if (view.missing) notes.push("file missing");
  if (view.outOfOrder) notes.push("out of order");
  if (view.state === "pending" && view.rolledBackAt !== null) notes.push("rolled back");
  else if (view.state === "pending" && view.lastError !== null) notes.push("last attempt failed");
  return [
    view.name,
    view.state,
    recorded ? formatTime(view.appliedAt) : "",
    recorded ? (view.appliedBy ?? "") : "",
    recorded ? formatDuration(view.executionTimeMs) : "",
    view.state !== "applied"
      ? ""
      : view.checksum.state === "match"
        ? "ok"
        : view.checksum.state === "drift"
          ? "DRIFT"
          : "unknown",
    notes.join(", "),
  ];
}

function statusSummary(report: StatusReport): string {
  const blocking = report.problems.filter((problem) => problem.blocking).length;
  const problems =
    report.problems.length === 0
      ? "no problems"
      : `${plural(report.problems.length, "problem")}${blocking > 0 ? ` (${blocking} blocking applies)` : ""}`;
  const pending =
    report.pending.length === 0 ? "nothing pending" : `${report.pending.length} pending`;
  return `${report.applied.length} applied, ${pending}, ${problems}.`;
}

// apply -------------------------------------------------------------------------------------

const STEP_WORDS: Record<ApplyStepResult["status"], string> = {
  applied: "applied",
  already_applied: "already applied",
  failed: "FAILED",
  skipped: "skipped",
  would_apply: "would apply",
};

/** `  applied           12 ms  001_create_users`: the time before the name keeps columns aligned
 * without knowing the longest name, so lines can be printed as each migration finishes. */
function stepLine(p: Printer, word: string, ms: number | null, name: string): string {
  const padded = word.padEnd(15);
  const painted =
    word === "FAILED"
      ? p.out.red(padded)
      : word === "applied" || word === "rolled back"
        ? p.out.green(padded)
        : p.out.dim(padded);
  return `  ${painted} ${formatDuration(ms).padStart(7)}  ${name}`;
}

async function apply(
  invocation: Extract<TargetInvocation, { command: "apply" }>,
  target: Target,
  p: Printer,
  cwd: string,
): Promise<Outcome> {
  const { dryRun } = invocation;
  targetLines(p, target, cwd, !dryRun, dryRun ? " (dry run: nothing will change)" : "");
  const shown = new Set<string>();
  const started = performance.now();
  const report = await target.apply(invocation, (step: FinishedStep) => {
    shown.add(step.migrationName);
    p.line(stepLine(p, STEP_WORDS[step.status], step.executionTimeMs, step.migrationName));
  });
  const elapsed = performance.now() - started;

  if (report.dryRun) return applyPlan(report, p);

  for (const step of report.results) {
    if (!shown.has(step.migrationName)) {
      p.line(stepLine(p, STEP_WORDS[step.status], step.executionTimeMs, step.migrationName));
    }
  }
  const applied = report.results.filter((step) => step.status === "applied");
  const skipped = report.results.filter((step) => step.status === "skipped");
  const already = report.results.filter((step) => step.status === "already_applied");

  if (report.failed) {
    const failed = report.failed;
    const total = applied.length + 1 + skipped.length;
    p.paragraph(
      `Applied ${applied.length} of ${plural(total, "migration")}: ${failed.migrationName} failed${
        skipped.length > 0 ? `, ${skipped.length} not attempted` : ""
      }.`,
    );
    return {
      exitCode: 1,
      result: report,
      failure: migrationFailed(failed.migrationName, failed.error, failed.transactional, "apply"),
    };
  }
  if (applied.length === 0) {
    p.paragraph(
      already.length > 0
        ? `${already.map((step) => step.migrationName).join(", ")} already applied: nothing ran.`
        : "Nothing to apply: every migration is applied.",
    );
  } else {
    p.paragraph(`Applied ${plural(applied.length, "migration")} in ${formatDuration(elapsed)}.`);
  }
  return ok(report);
}

function applyPlan(report: ApplyReport, p: Printer): Outcome {
  const steps = report.results.filter((step) => step.status === "would_apply");
  const already = report.results.filter((step) => step.status === "already_applied");
  for (const step of already)
    p.paragraph(`${step.migrationName} is already applied: nothing would run.`);
  if (steps.length === 0) {
    if (already.length === 0) p.paragraph("Nothing to apply: every migration is applied.");
    return ok(report);
  }
  p.paragraph(`Would apply ${plural(steps.length, "migration")}, in this order:`);
  for (const step of steps) {
    p.line(`  ${step.migrationName}${step.transactional ? "" : "  (outside a transaction)"}`);
  }
  for (const step of steps) {
    p.line();
    p.line(
      p.out.bold(
        sqlHeading(step.migrationName, step.transactional ? "" : "transaction:false", p.width),
      ),
    );
    p.lines(trimBlankLines(step.sql ?? ""));
  }
  p.line();
  p.paragraph(`Dry run: nothing was changed. Run without --dry-run to apply.`);
  return ok(report);
}

function sqlHeading(name: string, note: string, width: number): string {
  const text = `-- ${name}${note ? ` (${note})` : ""} `;
  return text + "-".repeat(Math.max(3, Math.min(width, 80) - text.length));
}

function trimBlankLines(sql: string): string[] {
  const lines = sql.split("\n");
  while (lines.length > 0 && (lines[0] ?? "").trim() === "") lines.shift();
  while (lines.length > 0 && (lines.at(-1) ?? "").trim() === "") lines.pop();
  return lines;
}

/** Why a migration's SQL failed, with what Postgres said, and what to do next. */
/** The executors' SQLSTATE for a migration whose SQL ran but whose bookkeeping failed. */
const BOOKKEEPING_FAILED = "SMBKP";

/**
 * A statement stopped by a limit, not by its SQL: it waited too long for a lock (55P03, another
 * session holds one on a table it touches) or ran too long (57014). The SQL needs no fix; the
 * run can be retried later, or with a higher limit for that run.
 */
function waitedTooLong(failure: SqlFailure | null, action: "apply" | "rollback"): string | null {
  if (failure?.code === "55P03") {
    return `It gave up waiting for a lock (PostgreSQL lock_timeout): another session holds a lock on a table it changes. Run ${action} again once that session is done, or let it wait longer for this run with --lock-timeout <ms>.`;
  }
  if (failure?.code === "57014") {
    return `A statement ran longer than allowed and was cancelled (PostgreSQL statement_timeout, or cancelled by an operator). Run ${action} again, allowing it more time with --statement-timeout <ms> if it needs it.`;
  }
  return null;
}

function migrationFailed(
  migrationName: string,
  failure: SqlFailure | null,
  transactional: boolean,
  action: "apply" | "rollback",
): FailureInfo {
  const details: string[] = [];
  if (failure) {
    const where = [
      failure.code ? `SQLSTATE ${failure.code}` : null,
      failure.position !== null ? `at character ${failure.position}` : null,
    ].filter((part) => part !== null);
    if (where.length > 0) details.push(`postgres: ${where.join(", ")}`);
    if (failure.detail) details.push(`detail: ${failure.detail}`);
    if (failure.hint && failure.code !== BOOKKEEPING_FAILED) {
      details.push(`postgres hint: ${failure.hint}`);
    }
  }
  // The SQL ran; recording it failed (the executors' SQLSTATE SMBKP): its hint is the engine's
  // own, saying what the migration broke — not "fix the SQL" as if the SQL had failed.
  const hint =
    failure?.code === BOOKKEEPING_FAILED && failure.hint && transactional
      ? `${action === "apply" ? `It ran in a transaction that was rolled back: the schema is as it was, and ${migrationName} is not recorded as applied.` : `The down section ran in a transaction that was rolled back: ${migrationName} is still applied.`} ${failure.hint}`
      : action === "rollback"
        ? transactional
          ? `The down section ran in a transaction that was rolled back: ${migrationName} is still applied. ${waitedTooLong(failure, action) ?? `Fix the down section, or undo it by hand and record that: \`studio-migrate rollback ${migrationName} --mark-only\`.`}`
          : `The down section ran outside a transaction, so the statements before the failing one stay done, and ${migrationName} is now failed: applies are blocked until it is resolved. Inspect the database, then \`studio-migrate resolve ${migrationName} --rolled-back\` if you finished undoing it by hand, or \`studio-migrate resolve ${migrationName} --applied\` if you restored what its down section undid.`
        : transactional
          ? `It ran in a transaction that was rolled back: the schema is as it was, and ${migrationName} is not recorded as applied. ${waitedTooLong(failure, action) ?? "Fix the SQL, then run apply again."}`
          : `It ran outside a transaction, so the statements before the failing one stay applied, and applies are blocked. Inspect the database, then \`studio-migrate resolve ${migrationName} --applied\` if you finished it by hand, or \`studio-migrate resolve ${migrationName} --rolled-back\` if you undid it (to run it again).`;
  return {
    code: "MIGRATION_FAILED",
    message: `${action === "apply" ? "Migration" : "Rollback of"} ${migrationName} failed: ${
      failure?.message ?? "no error recorded"
    }`,
    hint,
    migrationName,
    failure,
    details,
  };
}

// rollback ----------------------------------------------------------------------------------

async function rollback(
  invocation: Extract<TargetInvocation, { command: "rollback" }>,
  target: Target,
  p: Printer,
  cwd: string,
): Promise<Outcome> {
  const { migrationName, markOnly, dryRun, timeouts } = invocation;
  if (migrationName === null) return rollbackRun(invocation, target, p, cwd);
  targetLines(p, target, cwd, !dryRun, dryRun ? " (dry run: nothing will change)" : "");
  const report = await target.rollback({ migrationName, markOnly, dryRun, timeouts });
  switch (report.status) {
    case "not_applied":
      p.paragraph(`${migrationName} is not applied: nothing to roll back.`);
      return ok(report);
    case "would_roll_back":
      if (report.sql === null) {
        p.paragraph(`Would mark ${migrationName} as rolled back, running no SQL.`);
      } else {
        p.paragraph(`Would roll back ${migrationName} by running its down section:`);
        p.line();
        p.line(
          p.out.bold(
            sqlHeading(
              migrationName,
              report.transactional ? "down" : "down, transaction:false",
              p.width,
            ),
          ),
        );
        p.lines(trimBlankLines(report.sql));
      }
      p.line();
      p.paragraph(`Dry run: nothing was changed. Run without --dry-run to roll back.`);
      return ok(report);
    case "marked_rolled_back":
      p.paragraph(
        `Marked ${migrationName} as rolled back without running any SQL; it is pending again.`,
      );
      return ok(report);
    case "rolled_back":
      p.line(stepLine(p, "rolled back", report.executionTimeMs, migrationName));
      p.paragraph(`Rolled back ${migrationName}: its down section ran, and it is pending again.`);
      return ok(report);
    case "failed":
      p.line(stepLine(p, "FAILED", report.executionTimeMs, migrationName));
      return {
        exitCode: 1,
        result: report,
        failure: migrationFailed(migrationName, report.error, report.transactional, "rollback"),
      };
  }
}

const ROLLBACK_WORDS: Record<RollbackStepResult["status"], string> = {
  rolled_back: "rolled back",
  marked_rolled_back: "marked",
  not_applied: "not applied",
  failed: "FAILED",
  skipped: "skipped",
  would_roll_back: "would roll back",
};

/** `rollback --to <name>` / `--steps n`: a line per migration, newest first, as each finishes. */
async function rollbackRun(
  invocation: Extract<TargetInvocation, { command: "rollback" }>,
  target: Target,
  p: Printer,
  cwd: string,
): Promise<Outcome> {
  const { to, steps, markOnly, dryRun, timeouts } = invocation;
  const what =
    to !== null
      ? `everything applied after ${to}`
      : steps === 1
        ? "the newest migration"
        : `the newest ${steps} migrations`;
  targetLines(p, target, cwd, !dryRun, dryRun ? " (dry run: nothing will change)" : "");
  const shown = new Set<string>();
  const report = await target.rollbackMany(
    { to, steps, markOnly, dryRun, timeouts },
    (step: FinishedRollback) => {
      shown.add(step.migrationName);
      p.line(stepLine(p, ROLLBACK_WORDS[step.status], step.executionTimeMs, step.migrationName));
    },
  );
  if (report.dryRun) return rollbackRunPlan(report, what, p);

  for (const step of report.results) {
    if (!shown.has(step.migrationName)) {
      p.line(stepLine(p, ROLLBACK_WORDS[step.status], step.executionTimeMs, step.migrationName));
    }
  }
  const done = report.results.filter(
    (step) => step.status === "rolled_back" || step.status === "marked_rolled_back",
  );
  if (report.failed) {
    const failed = report.failed;
    const skipped = report.results.filter((step) => step.status === "skipped").length;
    p.paragraph(
      `Rolled back ${done.length} of ${plural(report.results.length, "migration")}: ${failed.migrationName} failed${
        skipped > 0 ? `, ${skipped} not attempted (still applied)` : ""
      }.`,
    );
    return {
      exitCode: 1,
      result: report,
      failure: migrationFailed(
        failed.migrationName,
        failed.error,
        failed.transactional,
        "rollback",
      ),
    };
  }
  if (report.results.length === 0) {
    p.paragraph(`Nothing to roll back: nothing is applied after ${to}.`);
  } else if (markOnly) {
    p.paragraph(
      `Marked ${plural(done.length, "migration")} as rolled back (${what}) without running any SQL; ${done.length === 1 ? "it is" : "they are"} pending again.`,
    );
  } else {
    p.paragraph(
      `Rolled back ${plural(done.length, "migration")} (${what}): ${done.length === 1 ? "its down section" : "their down sections"} ran, and ${done.length === 1 ? "it is" : "they are"} pending again.`,
    );
  }
  return ok(report);
}

function rollbackRunPlan(report: RollbackRunReport, what: string, p: Printer): Outcome {
  if (report.results.length === 0) {
    p.paragraph(`Nothing to roll back: nothing is applied after ${report.to}.`);
    return ok(report);
  }
  p.paragraph(
    `Would ${report.markOnly ? "mark as rolled back, running no SQL," : "roll back"} ${plural(report.results.length, "migration")} (${what}), newest first:`,
  );
  for (const step of report.results) p.line(`  ${step.migrationName}`);
  for (const step of report.results) {
    if (step.sql === null) continue;
    p.line();
    p.line(
      p.out.bold(
        sqlHeading(
          step.migrationName,
          step.transactional ? "down" : "down, transaction:false",
          p.width,
        ),
      ),
    );
    p.lines(trimBlankLines(step.sql));
  }
  p.line();
  p.paragraph("Dry run: nothing was changed. Run without --dry-run to roll back.");
  return ok(report);
}

// baseline, resolve -------------------------------------------------------------------------

async function baseline(
  invocation: Extract<TargetInvocation, { command: "baseline" }>,
  target: Target,
  p: Printer,
  cwd: string,
): Promise<Outcome> {
  targetLines(p, target, cwd, true);
  const report = await target.baseline(invocation.upTo);
  for (const step of report.results) {
    const word =
      step.status === "baselined" ? p.out.green("baselined      ") : p.out.dim("already applied");
    p.line(`  ${word}  ${step.migrationName}`);
  }
  const recorded = report.results.filter((step) => step.status === "baselined").length;
  p.paragraph(
    recorded === 0
      ? `Nothing to record: every migration up to ${invocation.upTo} is already applied.`
      : `Recorded ${plural(recorded, "migration")} as applied without running any SQL (baseline up to ${invocation.upTo}).`,
  );
  return ok(report);
}

const RESOLVE_FLAGS = {
  applied: "--applied",
  rolled_back: "--rolled-back",
  accept_checksum: "--accept-checksum",
} as const;

async function resolve(
  invocation: Extract<TargetInvocation, { command: "resolve" }>,
  target: Target,
  p: Printer,
  cwd: string,
): Promise<Outcome> {
  targetLines(p, target, cwd, true);
  const report = await target.resolve(invocation.migrationName, invocation.as);
  p.paragraph(
    `Resolved ${report.migrationName} (${RESOLVE_FLAGS[report.as]}): ${report.before} → ${report.after}.`,
  );
  p.paragraph("No SQL was run; the change is recorded in the history as a resolve.");
  return ok(report);
}

// adopt -------------------------------------------------------------------------------------

const ADOPT_WORDS: Record<AdoptReport["results"][number]["status"], string> = {
  adopted: "adopted",
  already_applied: "already applied",
  kept_rolled_back: "kept rolled back",
  no_local_file: "no local file",
};

const TOOL_NAMES = { dbmate: "dbmate", supabase: "the Supabase CLI" } as const;

async function adopt(
  invocation: Extract<TargetInvocation, { command: "adopt" }>,
  target: Target,
  p: Printer,
  cwd: string,
): Promise<Outcome> {
  targetLines(p, target, cwd, true);
  const report = await target.adopt({ from: invocation.from, table: invocation.table });
  const tool = TOOL_NAMES[report.from];
  p.paragraph(
    `Read ${report.table} (${tool}): ${plural(report.results.length, "version")} recorded there.`,
  );
  const width = Math.max(0, ...report.results.map((r) => r.version.length));
  for (const result of report.results) {
    const word = ADOPT_WORDS[result.status].padEnd(16);
    const painted =
      result.status === "adopted"
        ? p.out.green(word)
        : result.status === "no_local_file" || result.status === "kept_rolled_back"
          ? p.out.yellow(word)
          : p.out.dim(word);
    p.line(`  ${painted} ${result.version.padEnd(width)}  ${result.migrationName ?? ""}`.trimEnd());
  }
  const of = (status: AdoptReport["results"][number]["status"]) =>
    report.results.filter((r) => r.status === status);
  const adopted = of("adopted");
  p.paragraph(
    adopted.length === 0
      ? `Nothing to adopt from ${tool}: nothing was recorded.`
      : `Adopted ${plural(adopted.length, "migration")} from ${tool}: recorded as applied without running any SQL, as baseline events saying where they came from.`,
  );
  const kept = of("kept_rolled_back");
  if (kept.length > 0) {
    p.paragraph(
      `${kept.map((r) => r.migrationName).join(", ")} ${kept.length === 1 ? "is" : "are"} recorded here as rolled back: this engine's record stands, and ${kept.length === 1 ? "it stays" : "they stay"} pending.`,
    );
  }
  const missing = of("no_local_file");
  if (missing.length > 0) {
    p.paragraph(
      `${plural(missing.length, "version")} ${missing.length === 1 ? "has" : "have"} no migration file in ${
        target.config.mode === "direct"
          ? displayPath(target.config.migrationsDir, cwd)
          : "Studio's migrations directory"
      } (reported, not recorded): ${missing.map((r) => r.version).join(", ")}.`,
    );
  }
  return ok(report);
}

// history -----------------------------------------------------------------------------------

const HISTORY_COLUMNS: Column[] = [
  { header: "AT (UTC)" },
  { header: "MIGRATION" },
  { header: "ACTION" },
  { header: "OUTCOME" },
  { header: "TIME", align: "right", secondary: true },
  { header: "ACTOR", elastic: true, secondary: true },
  // A failed attempt's error, or a succeeded one's note (an adopt says where it came from).
  { header: "MESSAGE", elastic: true, secondary: true },
];

const RESOLUTION_FLAGS: Record<Resolution, string> = {
  applied: "--applied",
  rolled_back: "--rolled-back",
  accept_checksum: "--accept-checksum",
};

async function history(
  invocation: Extract<TargetInvocation, { command: "history" }>,
  target: Target,
  p: Printer,
): Promise<Outcome> {
  const page = await target.history(invocation);
  if (page.events.length === 0) {
    p.paragraph(
      invocation.cursor !== null
        ? "No older events."
        : invocation.migrationName !== null
          ? `No events recorded for ${invocation.migrationName}.`
          : "No events recorded yet.",
    );
    return ok(page);
  }
  const rows = page.events.map((event) => [
    formatTime(event.at, true),
    event.migrationName,
    // A resolve says which resolution was chosen (`resolve --rolled-back`, …).
    event.resolution ? `${event.action} ${RESOLUTION_FLAGS[event.resolution]}` : event.action,
    event.outcome,
    formatDuration(event.executionTimeMs),
    event.actor ?? "",
    event.errorMessage ?? "",
  ]);
  p.lines(
    renderTable(HISTORY_COLUMNS, rows, p.width, (r, c, text) =>
      c === 3 && page.events[r]?.outcome === "failed" ? p.out.red(text) : text,
    ),
  );
  if (page.nextCursor !== null) {
    const again = [
      "studio-migrate history",
      invocation.migrationName === null ? "" : ` --migration ${invocation.migrationName}`,
      invocation.limit === null ? "" : ` --limit ${invocation.limit}`,
      ` --cursor ${page.nextCursor}`,
    ].join("");
    p.line();
    p.line(`Next cursor: ${page.nextCursor}`);
    p.line(`Older events: ${again}`);
  }
  return ok(page);
}
