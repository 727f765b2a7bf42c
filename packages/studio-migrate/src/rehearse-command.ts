import type { RehearsalStep } from "@studio/migrations-core";
import type { TargetInvocation } from "./args.ts";
import type { Outcome } from "./commands.ts";
import { type Column, formatDuration, type Printer, plural, renderTable } from "./output.ts";
import type { Target } from "./target.ts";

type RehearseInvocation = Extract<TargetInvocation, { command: "rehearse" }>;

/** Where a row does not fit, the statement goes to an indented second line (cut if need be). */
const COLUMNS: Column[] = [
  { header: "MIGRATION" },
  { header: "LINE", align: "right" },
  { header: "STATEMENT", elastic: true, secondary: true },
  { header: "TIME", align: "right" },
  { header: "LOCKS TAKEN" },
];

/**
 * `studio-migrate rehearse [--to name]` (SPEC §9 *Rehearse*): what an apply would run, run on the
 * target in one transaction and rolled back — a table of each statement's time and the locks it
 * took (a row per lock), the migrations that cannot be rehearsed and why, and the statement that
 * failed. Exits 1 when one failed.
 */
export async function runRehearse(
  invocation: RehearseInvocation,
  target: Target,
  p: Printer,
  targetLine: () => void,
): Promise<Outcome> {
  const report = await target.rehearse({
    upTo: invocation.upTo,
    allowOutOfOrder: invocation.allowOutOfOrder,
    timeouts: invocation.timeouts,
  });
  targetLine();
  p.line();
  if (report.results.length === 0) {
    p.paragraph("Nothing to rehearse: every migration is applied.");
    return { exitCode: 0, result: report, failure: null };
  }
  const rows: string[][] = [];
  const kinds: ("statement" | "failed" | "note")[] = [];
  for (const step of report.results) {
    for (const [row, kind] of stepRows(step)) {
      rows.push(row);
      kinds.push(kind);
    }
  }
  p.lines(
    renderTable(COLUMNS, rows, p.width, (r, _c, text) =>
      kinds[r] === "failed" ? p.out.red(text) : kinds[r] === "note" ? p.out.yellow(text) : text,
    ),
  );
  p.line();
  const rehearsed = report.results.filter((step) => step.status === "rehearsed").length;
  const notRehearsable = report.results.filter((step) => step.status === "not_rehearsable");
  const summary = [
    `Rehearsed ${rehearsed} of ${plural(report.results.length, "pending migration")} in one transaction, then rolled it back: nothing was applied or recorded.`,
    ...notRehearsable.map(
      (step) => `${step.migrationName} was not rehearsed: ${step.reason ?? "not rehearsable"}.`,
    ),
  ];
  for (const sentence of summary) p.paragraph(sentence);
  const failed = report.failed;
  if (failed === null) return { exitCode: 0, result: report, failure: null };
  return {
    exitCode: 1,
    result: report,
    failure: {
      code: "REHEARSAL_FAILED",
      message: `${failed.migrationName} failed in the rehearsal at line ${failed.line} (${failed.statement}): ${failed.error.message}`,
      hint: "An apply would fail there too: fix the migration, then rehearse again. Nothing was changed.",
      migrationName: failed.migrationName,
      failure: failed.error,
      details: [],
    },
  };
}

function stepRows(step: RehearsalStep): [string[], "statement" | "failed" | "note"][] {
  if (step.status === "not_rehearsable" || step.status === "not_reached") {
    const why =
      step.status === "not_rehearsable"
        ? "not rehearsable: transaction:false"
        : (step.reason ?? "not reached");
    return [[[step.migrationName, "", why, "", ""], "note"]];
  }
  if (step.statements.length === 0) {
    return [[[step.migrationName, "", "(no statements)", "", ""], "statement"]];
  }
  return step.statements.flatMap((statement, index) => {
    const locks = statement.locks.map(
      (lock) =>
        `${lock.mode} on ${lock.relation}${lock.kind === "table" || lock.kind === null ? "" : ` (${lock.kind})`}`,
    );
    const first: string[] = [
      index === 0 ? step.migrationName : "",
      String(statement.line),
      statement.error === null ? statement.statement : `FAILED: ${statement.statement}`,
      milliseconds(statement.elapsedMs),
      statement.error === null ? (locks[0] ?? "") : "",
    ];
    const kind = statement.error === null ? "statement" : "failed";
    return [
      [first, kind],
      ...locks
        .slice(1)
        .map((lock): [string[], "statement"] => [["", "", "", "", lock], "statement"]),
    ];
  });
}

/** `0.42 ms`, `12.3 ms`, `840 ms`, then as `formatDuration` says seconds and minutes. */
function milliseconds(ms: number): string {
  if (ms >= 1000) return formatDuration(ms);
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  return `${Math.round(ms)} ms`;
}
