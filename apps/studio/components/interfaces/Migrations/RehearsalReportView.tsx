import { Alert } from "../../ui/Alert";
import type { RehearseReport } from "./Migrations.types";
import { formatDuration, formatStatementTime, plural } from "./Migrations.utils";
import { RehearsalStepView } from "./RehearsalStepView";

interface RehearsalReportViewProps {
  report: RehearseReport;
  onViewSql: (migrationName: string) => void;
}

/**
 * What a rehearsal found: how it ended (the statement that failed, with PostgreSQL's message),
 * each migration's statements with their times and locks, and — always — that none of it was
 * kept.
 */
export function RehearsalReportView({ report, onViewSql }: RehearsalReportViewProps) {
  const { results, failed } = report;
  const rehearsed = results.filter((r) => r.status === "rehearsed" || r.status === "failed");
  const notRehearsable = results.filter((r) => r.status === "not_rehearsable");
  const total = rehearsed.reduce((sum, r) => sum + (r.elapsedMs ?? 0), 0);
  return (
    <div data-testid="rehearsal-report" className="space-y-4">
      {results.length === 0 ? (
        <Alert tone="info" title="Nothing to rehearse" data-testid="rehearsal-nothing">
          No migration is pending: nothing ran.
        </Alert>
      ) : rehearsed.length === 0 ? (
        <Alert tone="warning" title="Nothing could be rehearsed" data-testid="rehearsal-nothing">
          {notRehearsable.length === 1
            ? "The migration runs outside a transaction: nothing ran."
            : "Each of these migrations runs outside a transaction: nothing ran."}
        </Alert>
      ) : failed ? (
        <Alert
          tone="danger"
          role="alert"
          data-testid="rehearsal-failed"
          title={
            <span className="break-words">
              {failed.migrationName} would fail, at line {failed.line}
            </span>
          }
        >
          <p className="rounded border border-destructive-border bg-canvas px-2.5 py-1.5 font-mono text-xs whitespace-pre-wrap break-words text-destructive">
            ERROR: {failed.error.message}
          </p>
          <p className="mt-1.5">
            The rehearsal stopped at that statement; the migrations after it were not reached. An
            apply would fail there too, and roll that migration back.
          </p>
        </Alert>
      ) : (
        <Alert
          tone="success"
          role="status"
          data-testid="rehearsal-succeeded"
          title={`${plural(rehearsed.length, "migration")} rehearsed in ${total < 10 ? formatStatementTime(total) : formatDuration(total)}`}
        >
          Every statement ran on the database.
          {notRehearsable.length > 0
            ? ` ${plural(notRehearsable.length, "migration runs", "migrations run")} outside a transaction and could not be rehearsed.`
            : ""}
        </Alert>
      )}
      {rehearsed.length > 0 ? (
        <p
          data-testid="rehearsal-rolled-back"
          className="rounded-md border border-border-default bg-surface-200 px-3 py-2 text-xs text-foreground-light"
        >
          Nothing was applied or recorded: everything ran in one transaction that was then rolled
          back, and the database is as it was. Times are this database's, now; an apply takes the
          same locks and holds each until its migration commits.
        </p>
      ) : null}
      {results.map((step) => (
        <RehearsalStepView key={step.migrationName} step={step} onViewSql={onViewSql} />
      ))}
    </div>
  );
}
