import { exactTime, formatDate, formatDateTime, formatTimeOfDay } from "./date-time";

interface LocalTimeProps {
  date: Date;
  /**
   * `date-time` on one line; `stacked`: the date above the time (a narrow table column); `time`:
   * the time of day only, with its zone, for what happened moments ago.
   */
  format?: "date-time" | "stacked" | "time";
  className?: string;
  "data-testid"?: string;
}

/**
 * A point in time in the viewer's zone, named ("1 Dec 2026, 18:40:12 UTC"), with the exact ISO
 * instant on hover and in `dateTime` for machines. Rendered in the browser only (the data it
 * shows is fetched there), so server and client never disagree about the zone.
 */
export function LocalTime({
  date,
  format = "date-time",
  className = "",
  "data-testid": testId,
}: LocalTimeProps) {
  return (
    <time
      dateTime={date.toISOString()}
      title={exactTime(date)}
      data-testid={testId}
      className={className}
    >
      {format === "time" ? (
        formatTimeOfDay(date)
      ) : format === "stacked" ? (
        <>
          <span className="block whitespace-nowrap">{formatDate(date)}</span>{" "}
          <span className="block whitespace-nowrap">{formatTimeOfDay(date)}</span>
        </>
      ) : (
        formatDateTime(date)
      )}
    </time>
  );
}
