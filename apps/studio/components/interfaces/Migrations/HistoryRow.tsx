import { EmptyValue } from "../../ui/EmptyValue";
import { Icon } from "../../ui/Icon";
import { LocalTime } from "../../ui/LocalTime";
import {
  STACKED_CELL,
  STACKED_ROW,
  STACKED_SUBTITLE_CELL,
  STACKED_TITLE_CELL,
  STACKED_WIDE_CELL,
} from "../../ui/stacked-table";
import type { HistoryEvent } from "./Migrations.types";
import { formatDuration, RESOLUTION_LABELS } from "./Migrations.utils";

const ACTION_LABELS: Record<HistoryEvent["action"], string> = {
  apply: "Apply",
  rollback: "Rollback",
  baseline: "Baseline",
  resolve: "Resolve",
};

interface HistoryRowProps {
  event: HistoryEvent;
}

/** One attempt from the audit trail: who, when, what, and how it went. */
export function HistoryRow({ event }: HistoryRowProps) {
  const succeeded = event.outcome === "succeeded";
  return (
    <tr
      data-testid="history-row"
      data-action={event.action}
      data-outcome={event.outcome}
      data-migration={event.migrationName}
      className={STACKED_ROW}
    >
      <th scope="row" className={STACKED_TITLE_CELL}>
        <LocalTime date={event.at} className="text-xs whitespace-nowrap text-foreground-light" />
      </th>
      <td className={STACKED_SUBTITLE_CELL}>
        <span
          title={event.migrationName}
          className="block font-mono text-xs text-foreground max-md:break-all md:max-w-[22rem] md:truncate"
        >
          {event.migrationName}
        </span>
      </td>
      <td data-label="Action" className={STACKED_CELL}>
        <span className="text-xs text-foreground">{ACTION_LABELS[event.action]}</span>
        {event.resolution ? (
          // Which decision the operator recorded (SPEC §3): "Mark applied", "Accept new checksum".
          <span
            data-testid="history-resolution"
            className="block text-[11px] whitespace-nowrap text-foreground-lighter"
          >
            {RESOLUTION_LABELS[event.resolution]}
          </span>
        ) : null}
      </td>
      <td data-label="Outcome" className={STACKED_CELL}>
        <span
          className={`inline-flex items-center gap-1 text-xs font-medium ${succeeded ? "text-brand" : "text-destructive"}`}
        >
          <Icon name={succeeded ? "check" : "x"} className="size-3" />
          {succeeded ? "Succeeded" : "Failed"}
        </span>
      </td>
      <td data-label="By" className={STACKED_CELL}>
        {event.actor ? (
          <span
            className="block max-w-44 truncate text-xs text-foreground-light"
            title={event.actor}
          >
            {event.actor}
          </span>
        ) : (
          <EmptyValue />
        )}
      </td>
      <td data-label="Duration" className={STACKED_CELL}>
        <span className="text-xs whitespace-nowrap text-foreground-light tabular-nums">
          {formatDuration(event.executionTimeMs)}
        </span>
      </td>
      <td className={`${STACKED_WIDE_CELL} md:max-w-md`}>
        {event.errorMessage && !succeeded ? (
          <span
            data-testid="history-error"
            className="block font-mono text-xs break-words whitespace-pre-wrap text-destructive"
          >
            {event.errorMessage}
          </span>
        ) : event.errorMessage ? (
          // A succeeded event's message is a note, never an error: e.g. an adopt's "adopted from
          // dbmate (…)" on its baseline events.
          <span
            data-testid="history-note"
            className="block text-xs break-words whitespace-pre-wrap text-foreground-light"
          >
            {event.errorMessage}
          </span>
        ) : (
          <span className="text-xs text-foreground-lighter max-md:hidden">
            <span aria-hidden="true">—</span>
            <span className="sr-only">No error or note</span>
          </span>
        )}
      </td>
    </tr>
  );
}
