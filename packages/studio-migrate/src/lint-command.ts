import type { LintFinding, LintReport } from "@studio/migrations-core";
import type { TargetInvocation } from "./args.ts";
import type { Outcome } from "./commands.ts";
import { countsText, findingPlace, sizeText } from "./lint-output.ts";
import { type Column, type Printer, plural, renderTable, wrap } from "./output.ts";
import type { Target } from "./target.ts";

type LintInvocation = Extract<TargetInvocation, { command: "lint" }>;

/**
 * One row per finding; where it does not fit, what, where and the lock stay on the first line,
 * and the relation, its size and the message go to a second (the full message follows the table,
 * so it may be cut here).
 */
const COLUMNS: Column[] = [
  { header: "RULE" },
  { header: "LEVEL" },
  { header: "MIGRATION:LINE" },
  { header: "RELATION", secondary: true },
  { header: "SIZE", secondary: true },
  { header: "LOCK" },
  { header: "MESSAGE", elastic: true, secondary: true },
];

/**
 * `studio-migrate lint [name…]` (SPEC §9 *Lint*): the findings as a table — rule, level, where,
 * the table and its live size, the lock, the message — then each finding in full with its fix,
 * and what `-- lint:ignore` accepted. Exits 1 when a finding is an error.
 */
export async function runLint(
  invocation: LintInvocation,
  target: Target,
  p: Printer,
  targetLine: () => void,
): Promise<Outcome> {
  const report = await target.lint({
    migrationNames: invocation.migrationNames,
    lockTimeoutMs: invocation.lockTimeoutMs,
  });
  targetLine();
  p.line();
  const what =
    invocation.migrationNames.length === 0
      ? report.migrations.length === 0
        ? "Nothing pending to lint."
        : `Linted ${plural(report.migrations.length, "pending migration")}: ${report.migrations.join(", ")}`
      : `Linted ${report.migrations.join(", ")}`;
  p.paragraph(
    report.migrations.length === 0
      ? what
      : `${what} (${report.live ? "sizes and lock holders from the target" : "no sizes: the target cannot tell them"}).`,
  );
  if (report.findings.length > 0) {
    p.line();
    p.lines(
      renderTable(COLUMNS, report.findings.map(row), p.width, (r, c, text) => {
        if (c !== 1) return text;
        const level = report.findings[r]?.level;
        return level === "error"
          ? p.out.red(text)
          : level === "warning"
            ? p.out.yellow(text)
            : text;
      }),
    );
    p.line();
    for (const finding of report.findings) details(p, finding);
  }
  if (report.ignored.length > 0) {
    p.line();
    p.line(p.out.bold("Accepted with -- lint:ignore:"));
    for (const { finding, directiveLine, reason } of report.ignored) {
      p.lines(
        wrap(
          `- ${findingPlace(finding)} ${finding.rule} (line ${directiveLine}${reason === null ? ", no reason given" : `: ${reason}`})`,
          p.width - 2,
          "    ",
        ).map((line) => `  ${line}`),
      );
    }
  }
  if (report.migrations.length > 0) {
    p.line();
    p.paragraph(
      `${countsText(report)}${report.ignored.length > 0 ? `, ${report.ignored.length} accepted` : ""}.`,
    );
  }
  if (report.errors === 0) return { exitCode: 0, result: report, failure: null };
  return {
    exitCode: 1,
    result: report,
    failure: {
      code: "LINT_ERRORS",
      message: `The lint found ${plural(report.errors, "error")}: ${errorPlaces(report)}.`,
      hint: "Make each statement safe as its finding says, or accept it knowingly with -- lint:ignore <rule> <reason> on the line above it. apply --strict refuses to run while there are errors.",
      migrationName: null,
      failure: null,
      details: [],
    },
  };
}

function row(finding: LintFinding): string[] {
  return [
    finding.rule,
    finding.level,
    findingPlace(finding),
    finding.relation ?? "",
    sizeText(finding.size),
    finding.lock ?? "",
    finding.message,
  ];
}

/** A finding in full: where and what, the message, the fix. */
function details(p: Printer, finding: LintFinding): void {
  const head = `${findingPlace(finding)} ${finding.rule}${finding.inDoBlock ? " (in a DO block)" : ""}`;
  p.line(finding.level === "error" ? p.out.red(head) : p.out.bold(head));
  p.lines(wrap(`  ${finding.statement}`, p.width, "  ").map((line) => p.out.dim(line)));
  p.lines(wrap(`  ${finding.message}`, p.width, "  "));
  p.lines(wrap(`  fix: ${finding.fix}`, p.width, "       "));
}

function errorPlaces(report: LintReport): string {
  const places = report.findings
    .filter((finding) => finding.level === "error")
    .map((finding) => `${finding.rule} at ${findingPlace(finding)}`);
  return places.length <= 5 ? places.join(", ") : `${places.slice(0, 5).join(", ")}, …`;
}
