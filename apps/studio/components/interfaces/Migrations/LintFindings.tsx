import { Alert } from "../../ui/Alert";
import { Icon } from "../../ui/Icon";
import { Spinner } from "../../ui/Spinner";
import { LintFindingItem } from "./LintFindingItem";
import type { IgnoredLintFinding, LintReport } from "./Migrations.types";
import { plural } from "./Migrations.utils";
import { type ApplyLint, LINT_PATIENCE_MS } from "./useApplyLint";

interface LintFindingsProps {
  lint: ApplyLint;
}

/**
 * The lint of what is about to be applied (SPEC §9), in the apply confirmation: every finding with
 * its table's size and lock, those accepted with `-- lint:ignore` folded away, and — when the lint
 * cannot answer — why, without standing in the way of the apply.
 */
export function LintFindings({ lint }: LintFindingsProps) {
  switch (lint.state) {
    case "none":
      return null;
    case "linting":
      return (
        <section data-testid="lint-findings" data-state="linting" className="space-y-2">
          <p className="flex items-center gap-2 text-xs text-foreground-light">
            <Spinner />
            Linting what will run, with the sizes of the tables it touches…
          </p>
          {lint.slow ? (
            <Alert tone="warning" title="The lint is taking long" data-testid="lint-slow">
              It has not answered in {Math.round(LINT_PATIENCE_MS / 1000)} s. You can wait, or apply
              without its findings.
            </Alert>
          ) : null}
        </section>
      );
    case "failed":
      return (
        <section data-testid="lint-findings" data-state="failed">
          <Alert tone="warning" title="Could not lint this SQL" data-testid="lint-error">
            <p data-testid="lint-error-message" className="break-words">
              {lint.error.message}
            </p>
            {lint.error.hint ? <p className="mt-1 break-words">{lint.error.hint}</p> : null}
            <p className="mt-1">
              Applying is still possible, without the lint's review: check the SQL below yourself.
            </p>
          </Alert>
        </section>
      );
    case "linted":
      return <LintReportView report={lint.report} />;
  }
}

function LintReportView({ report }: { report: LintReport }) {
  const { findings, ignored } = report;
  return (
    <section
      data-testid="lint-findings"
      data-state="linted"
      data-errors={report.errors}
      aria-labelledby="lint-heading"
      className="space-y-2"
    >
      <div className="flex flex-wrap items-baseline justify-between gap-x-3 gap-y-0.5">
        <h3 id="lint-heading" className="text-sm font-medium text-foreground">
          Lint{" "}
          <span data-testid="lint-counts" className="font-normal text-foreground-light">
            {findings.length === 0 ? "— no findings" : `— ${countsText(report)}`}
          </span>
        </h3>
        <p className="text-xs text-foreground-lighter">
          {report.live
            ? "Sizes and locks from the database, now."
            : "Without sizes: the database could not report them."}
        </p>
      </div>
      {report.errors > 0 ? (
        <p data-testid="lint-error-note" className="text-xs leading-5 text-destructive">
          {report.errors === 1
            ? "This statement would lock a live table for as long as it runs, or fail: "
            : "These statements would lock live tables for as long as they run, or fail: "}
          make them safe (each finding says how), accept them with a{" "}
          <code className="font-mono">-- lint:ignore</code> comment, or apply anyway — the SQL then
          runs as it is, locks included.
        </p>
      ) : null}
      {findings.length === 0 ? (
        <p
          data-testid="lint-clean"
          className="flex items-center gap-2 rounded-md border border-brand/30 bg-brand-subtle px-3 py-2 text-xs text-foreground-light"
        >
          <Icon name="check" className="size-3.5 text-brand" />
          Nothing in this SQL takes a lock the lint knows to be risky on a live table.
        </p>
      ) : (
        <ul className="space-y-2">
          {findings.map((finding) => (
            <LintFindingItem
              key={`${finding.migration}:${finding.line}:${finding.rule}:${finding.relation ?? ""}`}
              finding={finding}
            />
          ))}
        </ul>
      )}
      {ignored.length > 0 ? <IgnoredFindings ignored={ignored} /> : null}
    </section>
  );
}

function IgnoredFindings({ ignored }: { ignored: readonly IgnoredLintFinding[] }) {
  return (
    <details data-testid="lint-ignored" className="group rounded-md border border-border-default">
      <summary className="flex cursor-pointer list-none items-center gap-1.5 px-3 py-1.5 text-xs text-foreground-light select-none hover:text-foreground [&::-webkit-details-marker]:hidden">
        <Icon name="chevron-right" className="size-3 transition-transform group-open:rotate-90" />
        {plural(ignored.length, "finding")} accepted with{" "}
        <code className="font-mono">lint:ignore</code>
      </summary>
      <ul className="space-y-1.5 border-t border-border-default px-3 py-2 text-xs">
        {ignored.map(({ finding, directiveLine, reason }) => (
          <li
            key={`${finding.migration}:${finding.line}:${finding.rule}`}
            data-testid="lint-ignored-finding"
            className="text-foreground-light"
          >
            <span className="font-mono text-foreground">{finding.rule}</span>{" "}
            <span className="font-mono break-all text-foreground-lighter">
              {finding.migration}:{finding.line}
            </span>
            {" — "}
            {reason ? (
              <>
                “{reason}” <span className="text-foreground-lighter">(line {directiveLine})</span>
              </>
            ) : (
              <span className="text-foreground-lighter">
                no reason given (line {directiveLine})
              </span>
            )}
          </li>
        ))}
      </ul>
    </details>
  );
}

/** `1 error, 2 warnings` (infos only when there are some), as the CLI says it. */
function countsText(report: LintReport): string {
  const parts = [plural(report.errors, "error"), plural(report.warnings, "warning")];
  if (report.infos > 0) parts.push(plural(report.infos, "info"));
  return parts.join(", ");
}
