import type { LintFinding, LintReport, RelationSize } from "@studio/migrations-core";
import { CommandFailure } from "./failures.ts";
import { plural } from "./output.ts";

/**
 * How the CLI words a lint's findings, shared by `lint` and by a strict apply's refusal: a size as
 * a column shows it, a finding as one line of a failure's details.
 */

/** `≈5 k rows, 408 kB`; `rows unknown` for a table never analyzed; empty without a size. */
export function sizeText(size: RelationSize | null): string {
  if (size === null || !size.exists) return "";
  const rows = size.estimatedRows === null ? "rows unknown" : rowCount(size.estimatedRows);
  return size.totalBytes === null ? rows : `${rows}, ${byteSize(size.totalBytes)}`;
}

/** `≈742 rows`, `≈12 k rows`, `≈1.2 M rows`. */
function rowCount(rows: number): string {
  if (rows < 1000) return `≈${rows} ${rows === 1 ? "row" : "rows"}`;
  const [unit, scale] = rows < 1e6 ? ["k", 1e3] : rows < 1e9 ? ["M", 1e6] : ["G", 1e9];
  return `≈${short(rows / scale)} ${unit} rows`;
}

/**
 * `8192 bytes`, `408 kB`, `4 MB`: 1024-based, worded as the lint's messages word the same size
 * (the table and the message beside it must agree).
 */
function byteSize(bytes: number): string {
  if (bytes < 10 * 1024) return `${bytes} bytes`;
  let value = bytes;
  for (const unit of ["kB", "MB", "GB", "TB"]) {
    value /= 1024;
    if (value < 1024 || unit === "TB") return `${short(value)} ${unit}`;
  }
  return `${bytes} bytes`;
}

/** One decimal below 10, none above: `1.5`, `12`, `380`. */
function short(value: number): string {
  return value < 10 ? String(Math.round(value * 10) / 10) : String(Math.round(value));
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
