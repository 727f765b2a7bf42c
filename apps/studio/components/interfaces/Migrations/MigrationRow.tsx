import { EmptyValue } from "../../ui/EmptyValue";
import { Icon } from "../../ui/Icon";
import { LocalTime } from "../../ui/LocalTime";
import {
  HIDE_IN_NARROW_TABLE,
  STACKED_CELL,
  STACKED_ROW,
  STACKED_TITLE_CELL,
  STACKED_WIDE_CELL,
} from "../../ui/stacked-table";
import { Tag } from "../../ui/Tag";
import { Tooltip } from "../../ui/Tooltip";
import { ChecksumBadge } from "./ChecksumBadge";
import type { DisplayStatus, MigrationView, RecentOutcome } from "./Migrations.types";
import { formatDuration } from "./Migrations.utils";
import { type RowActionHandlers, RowActions, type RowPermissions } from "./RowActions";
import { StatusBadge } from "./StatusBadge";

/** A card leaves out the lines that would only say "none"; the table keeps its columns. */
const HIDE_ON_CARD = "max-md:hidden";

/**
 * The actions cell stays at the table's right edge however wide the table scrolls, so every row's
 * actions are reachable whatever the names' lengths; it needs an opaque background of its own.
 */
const STICKY_ACTIONS =
  "md:sticky md:right-0 md:z-[1] md:shadow-[-10px_0_10px_-10px_rgba(0,0,0,0.7)]";

/**
 * A row being worked on, or just changed: opaque tones (the sticky cell must hide what scrolls
 * beneath it); the row's is `!` to win over a card's own background.
 */
const HIGHLIGHTS = {
  busy: { row: "bg-[#132219]!", cell: "bg-[#132219]" },
  succeeded: { row: "bg-brand-subtle!", cell: "bg-brand-subtle" },
  failed: { row: "bg-destructive-subtle!", cell: "bg-destructive-subtle" },
} as const;

interface MigrationRowProps {
  view: MigrationView;
  status: DisplayStatus;
  /** "Applying…" while an action works on this row. */
  busyLabel: string | null;
  /** An action is running somewhere: every button waits. */
  locked: boolean;
  /** What an action just did to this row, for a few seconds. */
  recent: RecentOutcome | null;
  permissions: RowPermissions;
  handlers: RowActionHandlers;
}

export function MigrationRow({
  view,
  status,
  busyLabel,
  locked,
  recent,
  permissions,
  handlers,
}: MigrationRowProps) {
  const showError = view.lastError !== null && (status === "failed" || status === "interrupted");
  const when = view.appliedAt ?? view.rolledBackAt;
  const who = view.appliedAt ? view.appliedBy : view.rolledBackBy;
  // A failed or interrupted row's time is its attempt's; a rolled-back row's is the rollback's.
  const whenKind =
    view.appliedAt === null ? "Rolled back" : view.state === "applied" ? "Applied" : "Attempted";
  const highlight = busyLabel ? HIGHLIGHTS.busy : recent ? HIGHLIGHTS[recent.outcome] : null;

  return (
    <tr
      data-testid={`migration-row-${view.name}`}
      data-state={status}
      data-checksum={view.checksum.state}
      data-busy={busyLabel ? "true" : undefined}
      data-recent={recent?.outcome}
      aria-busy={busyLabel ? true : undefined}
      className={`group ${STACKED_ROW} ${highlight?.row ?? ""}`}
    >
      <th scope="row" className={`${STACKED_TITLE_CELL} md:w-[38%] md:min-w-48 md:max-w-0`}>
        <Tooltip trigger="focus" content={view.name} data-testid="name-tooltip">
          <button
            type="button"
            title={view.name}
            onClick={() => handlers.onViewSql(view)}
            data-testid={`view-sql-${view.name}`}
            aria-label={`${view.name}: view its SQL`}
            className="block max-w-full truncate rounded-sm text-left font-mono text-[13px] text-foreground decoration-foreground-lighter underline-offset-2 hover:underline focus-visible:outline-2 focus-visible:outline-brand max-md:whitespace-normal max-md:break-all"
          >
            {view.name}
          </button>
        </Tooltip>
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
        <span className="flex flex-col items-end gap-1 md:items-start">
          <StatusBadge status={status} busyLabel={busyLabel} />
          {recent && !busyLabel ? (
            <span
              data-testid="row-outcome"
              className={`inline-flex items-center gap-1 text-[11px] font-medium ${recent.outcome === "succeeded" ? "text-brand" : "text-destructive"}`}
            >
              <Icon name={recent.outcome === "succeeded" ? "check" : "x"} className="size-3" />
              {recent.outcome === "succeeded" ? "Done just now" : "Failed just now"}
            </span>
          ) : null}
        </span>
      </td>
      <td
        data-label={when ? `${whenKind} at` : "Applied at"}
        className={`${STACKED_CELL} ${when ? "" : HIDE_ON_CARD}`}
      >
        {when ? (
          <span className="flex flex-col">
            <LocalTime date={when} format="stacked" className="text-xs text-foreground-light" />
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
          <span className="block max-w-32 truncate text-xs text-foreground-light" title={who}>
            {who}
          </span>
        ) : (
          <EmptyValue />
        )}
      </td>
      <td
        data-label="Duration"
        className={`${STACKED_CELL} ${view.appliedAt ? "" : HIDE_ON_CARD} ${HIDE_IN_NARROW_TABLE}`}
      >
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
      <td
        data-testid="row-actions"
        className={`${STACKED_WIDE_CELL} ${STICKY_ACTIONS} ${highlight?.cell ?? "bg-surface-100 md:group-hover:bg-surface-200"} md:w-px`}
      >
        <RowActions view={view} locked={locked} permissions={permissions} handlers={handlers} />
      </td>
    </tr>
  );
}
