import {
  STACKED_BODY,
  STACKED_HEAD,
  STACKED_HEAD_CELL,
  STACKED_TABLE,
} from "../../ui/stacked-table";
import { MigrationRow } from "./MigrationRow";
import type { BusyState, MigrationView, StatusReport } from "./Migrations.types";
import { displayStatus } from "./Migrations.utils";

interface MigrationsTableProps {
  report: StatusReport;
  busy: BusyState | null;
  /** Applies are refused until blocking problems are resolved. */
  applyBlocked: boolean;
  onViewSql: (view: MigrationView) => void;
  onApply: (view: MigrationView) => void;
  onRollback: (view: MigrationView) => void;
  /** "Roll back to here": every migration applied after this one (`count` of them). */
  onRollbackTo: (view: MigrationView, count: number) => void;
}

/** Every known migration, applied and pending, in order. */
export function MigrationsTable({
  report,
  busy,
  applyBlocked,
  onViewSql,
  onApply,
  onRollback,
  onRollbackTo,
}: MigrationsTableProps) {
  const firstPending = report.pending[0]?.name ?? null;
  const appliedAfter = countAppliedAfter(report.applied);
  return (
    <div className="rounded-md md:overflow-x-auto md:border md:border-border-default md:bg-surface-100">
      <table className={STACKED_TABLE} data-testid="migrations-table">
        <caption className="sr-only">
          Migrations of the platform database, oldest first, with their status
        </caption>
        <thead className={STACKED_HEAD}>
          <tr>
            <th scope="col" className={STACKED_HEAD_CELL}>
              Migration
            </th>
            <th scope="col" className={STACKED_HEAD_CELL}>
              Status
            </th>
            <th scope="col" className={STACKED_HEAD_CELL}>
              Applied at
            </th>
            <th scope="col" className={STACKED_HEAD_CELL}>
              By
            </th>
            <th scope="col" className={STACKED_HEAD_CELL}>
              Duration
            </th>
            <th scope="col" className={STACKED_HEAD_CELL}>
              Checksum
            </th>
            <th scope="col" className={`${STACKED_HEAD_CELL} text-right`}>
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody className={STACKED_BODY}>
          {report.migrations.map((view) => (
            <MigrationRow
              key={view.name}
              view={view}
              status={displayStatus(view, report.problems)}
              busyLabel={busy?.names.has(view.name) ? busy.verb : null}
              locked={busy !== null}
              canApply={view.name === firstPending && !applyBlocked}
              canRollback={view.state === "applied" && view.name === report.lastApplied}
              canRollbackTo={view.state === "applied" && (appliedAfter.get(view.name) ?? 0) > 0}
              onViewSql={onViewSql}
              onApply={onApply}
              onRollback={onRollback}
              onRollbackTo={(v) => onRollbackTo(v, appliedAfter.get(v.name) ?? 0)}
            />
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * How many migrations were applied after each applied one: the engine's order for rollbacks (most
 * recently applied first; ties, as a baseline makes, by version). `applied` is in version order.
 */
function countAppliedAfter(applied: readonly MigrationView[]): Map<string, number> {
  const newestFirst = [...applied]
    .reverse()
    .sort((a, b) => (b.appliedAt?.getTime() ?? 0) - (a.appliedAt?.getTime() ?? 0));
  return new Map(newestFirst.map((view, index) => [view.name, index]));
}
