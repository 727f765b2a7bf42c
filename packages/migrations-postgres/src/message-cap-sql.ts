import { cutMarker, MESSAGE_CAP_BYTES } from "@studio/migrations-core";
import { quoteLiteral } from "./tracking-sql.ts";

/**
 * SPEC §3's cap on error messages (16 KiB, marked as cut) for a message produced inside SQL —
 * an exception handler's `sqlerrm` — so that it is capped before it travels, by the same rule as
 * the core's `capMessage`: the UTF-8 bytes counted (`left()` would count characters), the head
 * cut on a character boundary, then the same marker, the whole within the cap.
 */

/** The marker's text around the message's size, which the SQL computes. */
const [MARKER_HEAD, MARKER_TAIL] = (() => {
  const size = String(Number.MAX_SAFE_INTEGER);
  const parts = cutMarker(Number.MAX_SAFE_INTEGER).split(size);
  if (parts.length !== 2) throw new Error("cutMarker must name the message's size once.");
  return parts as [string, string];
})();

/**
 * PL/pgSQL statements capping the text variable `variable` in place. They use the variables
 * `cap_bytes bytea` and `cap_end integer`, which they declare in a block of their own.
 */
export function capMessageSql(variable: string): string {
  const marker = `${quoteLiteral(MARKER_HEAD)} || pg_catalog.octet_length(cap_bytes) || ${quoteLiteral(MARKER_TAIL)}`;
  return [
    "declare cap_bytes bytea; cap_end integer; begin",
    `cap_bytes := pg_catalog.convert_to(${variable}, 'UTF8');`,
    `if pg_catalog.octet_length(cap_bytes) > ${MESSAGE_CAP_BYTES} then`,
    // The byte budget left by the marker; then back to the start of a character, as capMessage.
    `cap_end := ${MESSAGE_CAP_BYTES} - pg_catalog.octet_length(pg_catalog.convert_to(${marker}, 'UTF8'));`,
    "while cap_end > 0 and pg_catalog.get_byte(cap_bytes, cap_end) & 192 = 128 loop cap_end := cap_end - 1; end loop;",
    `${variable} := pg_catalog.convert_from(pg_catalog.substr(cap_bytes, 1, cap_end), 'UTF8') || ${marker};`,
    "end if; end;",
  ].join(" ");
}
