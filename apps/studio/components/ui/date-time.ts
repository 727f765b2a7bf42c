/**
 * Times as an operator reads them: in the viewer's own time zone, with the zone named — a time
 * without one is ambiguous across a team in several zones — and the exact instant (ISO 8601, UTC)
 * for a tooltip or a copy.
 */

type Parts = "date-time" | "date" | "time";

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string | undefined, parts: Parts): Intl.DateTimeFormat {
  const key = `${timeZone ?? ""}|${parts}`;
  let format = formatters.get(key);
  if (!format) {
    format = new Intl.DateTimeFormat(undefined, {
      ...(parts !== "time" ? { year: "numeric", month: "short", day: "numeric" } : {}),
      ...(parts !== "date"
        ? {
            hour: "2-digit",
            minute: "2-digit",
            second: "2-digit",
            hourCycle: "h23",
            timeZoneName: "short",
          }
        : {}),
      ...(timeZone ? { timeZone } : {}),
    });
    formatters.set(key, format);
  }
  return format;
}

/** "1 Dec 2026, 18:40:12 UTC" (in the viewer's locale's order): date, time and the zone's name. */
export function formatDateTime(date: Date, timeZone?: string): string {
  return formatterFor(timeZone, "date-time").format(date);
}

/** "1 Dec 2026": the day, in the viewer's zone (pair it with {@link formatTimeOfDay}). */
export function formatDate(date: Date, timeZone?: string): string {
  return formatterFor(timeZone, "date").format(date);
}

/** "18:40:12 UTC": the time of day with its zone, for what happened today (a refresh). */
export function formatTimeOfDay(date: Date, timeZone?: string): string {
  return formatterFor(timeZone, "time").format(date);
}

/** The viewer's IANA time zone, e.g. `Europe/Berlin`. */
export function viewerTimeZone(): string {
  return new Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** The tooltip of a shown time: the exact instant, and which zone the shown one is in. */
export function exactTime(date: Date): string {
  return `${date.toISOString()} (shown in ${viewerTimeZone()})`;
}
