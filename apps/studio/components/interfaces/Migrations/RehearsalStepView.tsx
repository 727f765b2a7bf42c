import { DetailItem } from "../../ui/DetailItem";
import { Icon, type IconName } from "../../ui/Icon";
import {
  STACKED_BODY,
  STACKED_CELL,
  STACKED_HEAD,
  STACKED_HEAD_CELL,
  STACKED_ROW,
  STACKED_TABLE,
  STACKED_TITLE_CELL,
} from "../../ui/stacked-table";
import { LockBadge } from "./LockBadge";
import type { RehearsalStep, RehearsedStatement } from "./Migrations.types";
import { formatStatementTime } from "./Migrations.utils";
import { StatementText } from "./StatementText";

const STATUSES: Record<
  RehearsalStep["status"],
  { label: string; icon: IconName; className: string }
> = {
  rehearsed: {
    label: "Rehearsed",
    icon: "check",
    className: "border-brand/30 bg-brand-subtle text-brand",
  },
  failed: {
    label: "Failed",
    icon: "x",
    className: "border-destructive-border bg-destructive-subtle text-destructive",
  },
  not_reached: {
    label: "Not reached",
    icon: "pause",
    className: "border-border-strong bg-surface-300 text-foreground-light",
  },
  not_rehearsable: {
    label: "Not rehearsable",
    icon: "alert",
    className: "border-warning-border bg-warning-subtle text-warning",
  },
};

interface RehearsalStepViewProps {
  step: RehearsalStep;
  onViewSql: (migrationName: string) => void;
}

/**
 * One migration of a rehearsal: how it ended, and each statement that ran — its line in the file,
 * the statement, how long it took and the table locks it took (held, in an apply, until the
 * migration commits); the statement that failed, with what PostgreSQL said.
 */
export function RehearsalStepView({ step, onViewSql }: RehearsalStepViewProps) {
  const status = STATUSES[step.status];
  return (
    <section
      data-testid={`rehearsal-step-${step.migrationName}`}
      data-status={step.status}
      aria-label={`${step.migrationName}: ${status.label}`}
      className="space-y-2"
    >
      <div className="flex flex-wrap items-center gap-x-2 gap-y-1">
        <span className="min-w-0 font-mono text-xs break-all text-foreground">
          {step.migrationName}
        </span>
        <span
          data-testid="rehearsal-status"
          className={`inline-flex items-center gap-1 rounded-full border px-2 py-px text-[11px] font-medium leading-4 whitespace-nowrap ${status.className}`}
        >
          <Icon name={status.icon} className="size-3" />
          {status.label}
        </span>
        {step.elapsedMs !== null ? (
          <span
            data-testid="rehearsal-step-time"
            className="text-xs text-foreground-lighter tabular-nums"
          >
            {formatStatementTime(step.elapsedMs)}
          </span>
        ) : null}
      </div>
      {step.reason ? (
        <p data-testid="rehearsal-reason" className="text-xs leading-5 text-foreground-light">
          {step.reason}
        </p>
      ) : null}
      {step.statements.length > 0 ? (
        <div className="md:overflow-hidden md:rounded-md md:border md:border-border-default md:bg-surface-100">
          <table className={`${STACKED_TABLE} md:table-fixed`}>
            <caption className="sr-only">Statements of {step.migrationName} as rehearsed</caption>
            <thead className={STACKED_HEAD}>
              <tr>
                <th scope="col" className={`${STACKED_HEAD_CELL} w-14`}>
                  Line
                </th>
                <th scope="col" className={STACKED_HEAD_CELL}>
                  Statement
                </th>
                <th scope="col" className={`${STACKED_HEAD_CELL} w-20 text-right`}>
                  Time
                </th>
                <th scope="col" className={`${STACKED_HEAD_CELL} w-[36%]`}>
                  Locks taken
                </th>
              </tr>
            </thead>
            <tbody className={STACKED_BODY}>
              {step.statements.map((statement) => (
                <StatementRow
                  key={statement.index}
                  statement={statement}
                  migrationName={step.migrationName}
                  onViewSql={onViewSql}
                />
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}

interface StatementRowProps {
  statement: RehearsedStatement;
  migrationName: string;
  onViewSql: (migrationName: string) => void;
}

function StatementRow({ statement, migrationName, onViewSql }: StatementRowProps) {
  const failed = statement.error !== null;
  return (
    <tr
      data-testid="rehearsed-statement"
      data-line={statement.line}
      data-failed={failed ? "true" : undefined}
      className={`${STACKED_ROW} max-md:flex max-md:flex-col ${failed ? "bg-destructive-subtle! max-md:border-destructive-border" : ""}`}
    >
      <td data-label="Line" className={`${STACKED_CELL} md:align-top`}>
        <span
          data-testid="statement-line"
          className="font-mono text-xs text-foreground-lighter tabular-nums"
        >
          {statement.line}
        </span>
      </td>
      <th
        scope="row"
        className={`${STACKED_TITLE_CELL} max-md:order-first md:align-top md:max-w-0`}
      >
        <StatementText
          text={statement.statement}
          migrationName={migrationName}
          onViewSql={onViewSql}
        />
        {statement.error ? (
          <div data-testid="statement-error" className="mt-2 space-y-1">
            <p className="rounded border border-destructive-border bg-canvas px-2 py-1 font-mono text-xs whitespace-pre-wrap break-words text-destructive">
              ERROR: {statement.error.message}
            </p>
            <dl className="grid grid-cols-[auto_minmax(0,1fr)] gap-x-3 gap-y-0.5 text-xs font-normal">
              {statement.error.code ? (
                <DetailItem term="SQLSTATE" value={statement.error.code} mono />
              ) : null}
              {statement.error.detail ? (
                <DetailItem term="Detail" value={statement.error.detail} />
              ) : null}
              {statement.error.hint ? (
                <DetailItem term="Hint" value={statement.error.hint} />
              ) : null}
            </dl>
          </div>
        ) : null}
      </th>
      <td data-label="Time" className={`${STACKED_CELL} md:text-right md:align-top`}>
        <span
          data-testid="statement-time"
          className="text-xs whitespace-nowrap text-foreground-light tabular-nums"
        >
          {formatStatementTime(statement.elapsedMs)}
        </span>
      </td>
      <td data-label="Locks taken" className={`${STACKED_CELL} md:align-top`}>
        {statement.locks.length === 0 ? (
          <span
            className="text-xs text-foreground-lighter"
            title="It took no table lock that an earlier statement of the rehearsal did not already hold"
          >
            no new locks
          </span>
        ) : (
          <ul className="flex flex-col items-end gap-1 md:items-start">
            {statement.locks.map((lock) => (
              <li
                key={`${lock.relation}-${lock.mode}`}
                data-testid="statement-lock"
                className="flex flex-wrap items-center justify-end gap-x-1.5 gap-y-0.5 md:justify-start"
              >
                <span className="min-w-0 font-mono text-[11px] text-foreground-light">
                  <span className="[overflow-wrap:anywhere]">{lock.relation}</span>
                  {lock.kind !== null && lock.kind !== "table" ? (
                    <span className="whitespace-nowrap text-foreground-lighter">
                      {" "}
                      ({lock.kind})
                    </span>
                  ) : null}
                </span>
                <LockBadge mode={lock.mode} />
              </li>
            ))}
          </ul>
        )}
      </td>
    </tr>
  );
}
