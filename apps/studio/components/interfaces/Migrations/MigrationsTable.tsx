import {
  HIDE_IN_NARROW_TABLE,
  STACKED_BODY,
  STACKED_HEAD,
  STACKED_HEAD_CELL,
  STACKED_TABLE,
} from "../../ui/stacked-table";
import { MigrationRow } from "./MigrationRow";
import type { BusyState, MigrationView, RecentOutcome, StatusReport } from "./Migrations.types";
import { displayStatus } from "./Migrations.utils";
import type { RowActionHandlers, RowPermissions } from "./RowActions";

interface MigrationsTableProps {
  report: StatusReport;
  busy: BusyState | null;
  /** What actions just did to rows, for a few seconds. */
  recent: ReadonlyMap<string, RecentOutcome>;
  /** Applies are refused until blocking problems are resolved. */
  applyBlocked: boolean;
  handlers: RowActionHandlers;
}

/** Every known migration, applied and pending, in order. */
export function MigrationsTable({
  report,
  busy,
  recent,
  applyBlocked,
  handlers,
}: MigrationsTableProps) {
  const firstPending = report.pending[0]?.name ?? null;
  const appliedAfter = countAppliedAfter(report.applied);
  const unresolved = report.migrations.find(
    (m) => m.state === "failed" || m.state === "interrupted" || m.state === "running",
  );
  const permissionsOf = (view: MigrationView): RowPermissions => ({
    canApply: view.name === firstPending && !applyBlocked,
    applyBlockedReason: applyBlocked
      ? "Applies are blocked by the problems above"
      : firstPending && view.name !== firstPending
        ? `Pending migrations apply in order: ${firstPending} comes first`
        : null,
    canRollback: view.state === "applied" && view.name === report.lastApplied,
    canRollbackTo: view.state === "applied" && (appliedAfter.get(view.name) ?? 0) > 0,
    canBaseline: view.state === "pending" && !view.missing && unresolved === undefined,
    // What an apply up to here would run, so refused as that apply would be.
    canRehearse: view.state === "pending" && !view.missing && !applyBlocked,
    baselineBlockedReason: unresolved
      ? unresolved.state === "running"
        ? `${unresolved.name} is running: wait for it to finish`
        : `Resolve ${unresolved.name} first: it ${unresolved.state === "failed" ? "failed" : "was interrupted"} outside a transaction`
      : null,
  });
  return (
    <div
      data-testid="migrations-table-scroll"
      className="rounded-md md:overflow-x-auto md:border md:border-border-default md:bg-surface-100"
    >
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
            <th scope="col" className={`${STACKED_HEAD_CELL} ${HIDE_IN_NARROW_TABLE}`}>
              Duration
            </th>
            <th scope="col" className={STACKED_HEAD_CELL}>
              Checksum
            </th>
            <th
              scope="col"
              className={`${STACKED_HEAD_CELL} text-right md:sticky md:right-0 md:z-[1]`}
            >
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
              recent={recent.get(view.name) ?? null}
              permissions={permissionsOf(view)}
              handlers={handlers}
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
export function countAppliedAfter(applied: readonly MigrationView[]): Map<string, number> {
  const newestFirst = [...applied]
    .reverse()
    .sort((a, b) => (b.appliedAt?.getTime() ?? 0) - (a.appliedAt?.getTime() ?? 0));
  return new Map(newestFirst.map((view, index) => [view.name, index]));
}
