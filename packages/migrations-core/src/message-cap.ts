import { Buffer } from "node:buffer";

/**
 * SPEC §3: stored, logged and returned error messages are capped at 16 KiB, marked as cut. A
 * migration's SQL can raise a message of any size (a `RAISE` of a whole table); kept whole, one
 * such failure makes every later `list` and `history` heavy, and a log line unreadable.
 */

/** The cap, in UTF-8 bytes, of a message as stored, logged or returned. */
export const MESSAGE_CAP_BYTES = 16 * 1024;

/** What ends a cut message; `{bytes}` is the original message's size in bytes. */
export function cutMarker(bytes: number): string {
  return `\n… [message cut: ${bytes} bytes in all, the first 16 KiB kept]`;
}

/**
 * The message itself when it fits in {@link MESSAGE_CAP_BYTES}; otherwise its head, cut on a
 * character boundary, then the marker, the whole within the cap.
 */
export function capMessage(message: string): string {
  const bytes = Buffer.byteLength(message, "utf8");
  if (bytes <= MESSAGE_CAP_BYTES) return message;
  const marker = cutMarker(bytes);
  const budget = MESSAGE_CAP_BYTES - Buffer.byteLength(marker, "utf8");
  // Walk back from the byte budget to the start of a UTF-8 character (never a continuation byte).
  const encoded = Buffer.from(message, "utf8");
  let end = budget;
  while (end > 0 && ((encoded[end] ?? 0) & 0xc0) === 0x80) end -= 1;
  return encoded.subarray(0, end).toString("utf8") + marker;
}

/** Whether a message was cut by {@link capMessage}. */
export function isCutMessage(message: string): boolean {
  return /\n… \[message cut: \d+ bytes in all, the first 16 KiB kept\]$/.test(message);
}
