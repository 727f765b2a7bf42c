import { Button } from "../../ui/Button";
import { EmptyValue } from "../../ui/EmptyValue";
import { Icon } from "../../ui/Icon";
import {
  STACKED_CELL,
  STACKED_ROW,
  STACKED_TITLE_CELL,
  STACKED_WIDE_CELL,
} from "../../ui/stacked-table";
import { Tag } from "../../ui/Tag";
import { ChecksumBadge } from "./ChecksumBadge";
import type { DisplayStatus, MigrationView } from "./Migrations.types";
import { formatDateTime, formatDuration } from "./Migrations.utils";
import { StatusBadge } from "./StatusBadge";

/** A card leaves out the lines that would only say "none"; the table keeps its columns. */
const HIDE_ON_CARD = "max-md:hidden";

interface MigrationRowProps {
  view: MigrationView;
  status: DisplayStatus;
  /** "Applying…" while an action works on this row. */
  busyLabel: string | null;
  /** An action is running somewhere: every button waits. */
  locked: boolean;
  /** Only the first pending migration may be applied on its own. */
  canApply: boolean;
  /** Only the most recently applied migration may be rolled back. */
  canRollback: boolean;
  /** An applied migration with others applied after it: "Roll back to here" undoes those. */
  canRollbackTo: boolean;
  onViewSql: (view: MigrationView) => void;
  onApply: (view: MigrationView) => void;
  onRollback: (view: MigrationView) => void;
  onRollbackTo: (view: MigrationView) => void;
}

export function MigrationRow({
  view,
  status,
  busyLabel,
  locked,
  canApply,
  canRollback,
  canRollbackTo,
  onViewSql,
  onApply,
  onRollback,
  onRollbackTo,
}: MigrationRowProps) {
  const isPending = view.state === "pending" && !view.missing;
  const showError = view.lastError !== null && (status === "failed" || status === "interrupted");
  const when = view.appliedAt ?? view.rolledBackAt;
  const who = view.appliedAt ? view.appliedBy : view.rolledBackBy;
  // A failed or interrupted row's time is its attempt's; a rolled-back row's is the rollback's.
  const whenKind =
    view.appliedAt === null ? "Rolled back" : view.state === "applied" ? "Applied" : "Attempted";

  return (
    <tr
      data-testid={`migration-row-${view.name}`}
      data-state={status}
      data-checksum={view.checksum.state}
      data-busy={busyLabel ? "true" : undefined}
      aria-busy={busyLabel ? true : undefined}
      className={`${STACKED_ROW} ${busyLabel ? "bg-brand-subtle/40" : ""}`}
    >
      <th scope="row" className={STACKED_TITLE_CELL}>
        <span className="font-mono text-[13px] break-all text-foreground md:break-normal md:whitespace-nowrap">
          {view.name}
        </span>
        <span className="mt-1 flex flex-wrap gap-1.5">
          {!view.transactional ? (
            <Tag title="Runs outside a transaction (e.g. CREATE INDEX CONCURRENTLY)">
              no transaction
            </Tag>
          ) : null}
          {!view.hasDown && !view.missing ? (
            <Tag title="No -- migrate:down section">no down</Tag>
          ) : null}
        </span>
        {showError ? (
          <span
            className="mt-1 line-clamp-3 block font-mono text-xs break-words text-destructive"
            title={view.lastError ?? undefined}
          >
            {view.lastError}
          </span>
        ) : null}
      </th>
      <td data-label="Status" className={STACKED_CELL}>
        <StatusBadge status={status} busyLabel={busyLabel} />
      </td>
      <td
        data-label={when ? `${whenKind} at` : "Applied at"}
        className={`${STACKED_CELL} ${when ? "" : HIDE_ON_CARD}`}
      >
        {when ? (
          <span className="flex flex-col">
            <time
              dateTime={when.toISOString()}
              title={when.toISOString()}
              className="text-xs whitespace-nowrap text-foreground-light"
            >
              {formatDateTime(when)}
            </time>
            {/* Under the "Applied at" column, other times say what they are; a card's label does. */}
            {whenKind === "Applied" ? null : (
              <span className="text-[11px] text-foreground-lighter max-md:hidden">
                {whenKind.toLowerCase()}
              </span>
            )}
          </span>
        ) : (
          <EmptyValue />
        )}
      </td>
      <td data-label="By" className={`${STACKED_CELL} ${who ? "" : HIDE_ON_CARD}`}>
        {who ? (
          <span className="block max-w-44 truncate text-xs text-foreground-light" title={who}>
            {who}
          </span>
        ) : (
          <EmptyValue />
        )}
      </td>
      <td data-label="Duration" className={`${STACKED_CELL} ${view.appliedAt ? "" : HIDE_ON_CARD}`}>
        <span className="text-xs whitespace-nowrap text-foreground-light tabular-nums">
          {view.appliedAt ? formatDuration(view.executionTimeMs) : "—"}
        </span>
      </td>
      <td
        data-label="Checksum"
        className={`${STACKED_CELL} ${view.checksum.state === "unknown" ? HIDE_ON_CARD : ""}`}
      >
        <ChecksumBadge checksum={view.checksum} />
      </td>
      <td className={STACKED_WIDE_CELL}>
        <span className="flex flex-wrap justify-end gap-1.5 md:flex-nowrap max-md:justify-start">
          {view.upSql !== null ? (
            <Button
              variant="ghost"
              icon={<Icon name="code" />}
              onClick={() => onViewSql(view)}
              data-testid={`view-sql-${view.name}`}
              aria-label={`View SQL of ${view.name}`}
            >
              View SQL
            </Button>
          ) : null}
          {isPending ? (
            <Button
              variant={canApply ? "primary" : "default"}
              icon={<Icon name="play" />}
              disabled={!canApply || locked}
              onClick={() => onApply(view)}
              data-testid={`apply-${view.name}`}
              aria-label={`Apply ${view.name}`}
            >
              {view.outOfOrder ? "Apply out of order" : "Apply"}
            </Button>
          ) : null}
          {canRollback ? (
            <Button
              variant="default"
              icon={<Icon name="undo" />}
              disabled={locked}
              onClick={() => onRollback(view)}
              data-testid={`rollback-${view.name}`}
              aria-label={`${view.hasDown ? "Roll back" : "Mark rolled back"} ${view.name}`}
            >
              {view.hasDown ? "Roll back" : "Mark rolled back"}
            </Button>
          ) : null}
          {canRollbackTo ? (
            <Button
              variant="ghost"
              icon={<Icon name="undo" />}
              disabled={locked}
              onClick={() => onRollbackTo(view)}
              data-testid={`rollback-to-${view.name}`}
              aria-label={`Roll back to ${view.name}: roll back every migration applied after it`}
              title="Roll back every migration applied after this one; this one stays applied"
            >
              Roll back to here
            </Button>
          ) : null}
        </span>
      </td>
    </tr>
  );
}
