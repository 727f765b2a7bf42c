import { sizePhrase } from "@studio/migrations-lint/describe";
import { formatDateTime } from "../../ui/date-time";
import { LintLevelBadge } from "./LintLevelBadge";
import { LockBadge } from "./LockBadge";
import type { LintFinding } from "./Migrations.types";

type LockHolder = LintFinding["blockedBy"][number];

const LEVEL_BOX: Record<LintFinding["level"], string> = {
  error: "border-destructive-border bg-destructive-subtle",
  warning: "border-warning-border bg-surface-200",
  info: "border-border-default bg-surface-200",
};

interface LintFindingItemProps {
  finding: LintFinding;
}

/**
 * One risky statement: its level and rule, where it is (`migration:line`, as an editor opens it),
 * the table it is about with that table's size on the target and the lock it takes, why it
 * matters, the sessions in its way right now, and the safe way to write it.
 */
export function LintFindingItem({ finding }: LintFindingItemProps) {
  // Worded by the lint itself, so the size beside a finding and the one in its message agree.
  const size = sizePhrase(finding.size);
  const place = `${finding.migration}:${finding.line}`;
  return (
    <li
      data-testid="lint-finding"
      data-level={finding.level}
      data-rule={finding.rule}
      className={`space-y-1.5 rounded-md border px-3 py-2.5 ${LEVEL_BOX[finding.level]}`}
    >
      <div className="flex flex-wrap items-center gap-x-2 gap-y-1">
        <LintLevelBadge level={finding.level} />
        <code data-testid="finding-rule" className="font-mono text-xs text-foreground">
          {finding.rule}
        </code>
        <span
          data-testid="finding-place"
          className="min-w-0 font-mono text-xs [overflow-wrap:anywhere] text-foreground-lighter"
        >
          {place}
        </span>
      </div>
      {finding.relation !== null || finding.lock !== null ? (
        <div className="flex flex-wrap items-center gap-x-2 gap-y-1 text-xs">
          {finding.relation !== null ? (
            <span
              data-testid="finding-relation"
              className="min-w-0 font-mono [overflow-wrap:anywhere] text-foreground"
            >
              {finding.relation}
            </span>
          ) : null}
          {size !== null ? (
            <span
              data-testid="finding-size"
              title="From the database's catalog: rows as of the last ANALYZE, bytes with its indexes and TOAST"
              className="whitespace-nowrap text-foreground-light tabular-nums"
            >
              {size}
            </span>
          ) : null}
          {finding.lock !== null ? <LockBadge mode={finding.lock} /> : null}
        </div>
      ) : null}
      <p
        title={finding.statement}
        className="truncate font-mono text-[11px] text-foreground-lighter"
        data-testid="finding-statement"
      >
        {finding.statement}
      </p>
      <p data-testid="finding-message" className="text-xs leading-5 text-foreground-light">
        {finding.message}
      </p>
      {finding.blockedBy.length > 0 ? (
        <div data-testid="finding-blocked-by" className="text-xs text-foreground-light">
          <p className="font-medium text-warning">In its way on the database right now:</p>
          <ul className="mt-0.5 list-disc space-y-0.5 pl-4">
            {finding.blockedBy.map((holder) => (
              <li
                key={`${holder.pid ?? holder.since ?? "prepared"}-${holder.mode}-${holder.granted}`}
                className="break-words"
              >
                {holderText(holder)}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      {finding.fix ? (
        <p data-testid="finding-fix" className="text-xs leading-5 text-foreground-light">
          <span className="font-medium text-foreground">Fix: </span>
          {finding.fix}
        </p>
      ) : null}
    </li>
  );
}

/** `pid 4711 (psql) holds ROW EXCLUSIVE since 12:00:03 UTC, idle in transaction: "update …"`. */
function holderText(holder: LockHolder): string {
  const who = holder.pid === null ? "a prepared transaction" : `pid ${holder.pid}`;
  const app = holder.applicationName === null ? "" : ` (${holder.applicationName})`;
  const what = holder.granted ? `holds ${holder.mode}` : `is queued for ${holder.mode}`;
  const since = holder.since === null ? "" : ` since ${formatDateTime(new Date(holder.since))}`;
  const state = holder.state === null ? "" : `, ${holder.state}`;
  const query = holder.query === null || holder.query.trim() === "" ? "" : `: “${holder.query}”`;
  return `${who}${app} ${what}${since}${state}${query}`;
}
