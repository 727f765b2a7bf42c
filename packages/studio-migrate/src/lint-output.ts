import type { LintFinding, LintReport, RelationSize } from "@studio/migrations-core";
import { byteSize, rowCount } from "@studio/migrations-lint/describe";
import { CommandFailure } from "./failures.ts";
import { plural } from "./output.ts";

/**
 * How the CLI words a lint's findings, shared by `lint` and by a strict apply's refusal: a size as
 * a column shows it, a finding as one line of a failure's details.
 */

/**
 * `≈5 k rows, 408 kB` — in the lint's own words, so the column and the message beside it agree;
 * `rows unknown` (shorter than the message's) for a table never analyzed; empty without a size.
 */
export function sizeText(size: RelationSize | null): string {
  if (size === null || !size.exists) return "";
  const rows = size.estimatedRows === null ? "rows unknown" : rowCount(size.estimatedRows);
  return size.totalBytes === null ? rows : `${rows}, ${byteSize(size.totalBytes)}`;
}

/** `002_index_users:3` — the file's line, as an editor opens it. */
export function findingPlace(finding: LintFinding): string {
  return `${finding.migration}:${finding.line}`;
}

/** One line for a failure's details: where, which rule, on what, and why. */
export function findingLine(finding: LintFinding): string {
  const size = sizeText(finding.size);
  const about =
    finding.relation === null ? "" : ` on ${finding.relation}${size === "" ? "" : ` (${size})`}`;
  const lock = finding.lock === null ? "" : ` [${finding.lock}]`;
  return `${findingPlace(finding)} ${finding.level} ${finding.rule}${about}${lock}: ${finding.message}`;
}

/** `1 error, 2 warnings` (infos only when there are some). */
export function countsText(report: LintReport): string {
  const parts = [plural(report.errors, "error"), plural(report.warnings, "warning")];
  if (report.infos > 0) parts.push(plural(report.infos, "info"));
  return parts.join(", ");
}

/**
 * A strict apply refused (`LINT_REFUSED`): the refusal's message and hint, and one detail line
 * per error-level finding, which is what stopped it.
 */
export function lintRefusal(
  report: LintReport,
  message: string,
  hint: string | null,
): CommandFailure {
  return new CommandFailure({
    code: "LINT_REFUSED",
    message,
    hint,
    // Read defensively: through --url it is what a server sent.
    details: (Array.isArray(report.findings) ? report.findings : [])
      .filter((f) => f.level === "error")
      .map(findingLine),
  });
}
