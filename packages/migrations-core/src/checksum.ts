import { createHash } from "node:crypto";

/** Line endings normalised to `\n`, so a checkout with CRLF does not read as drift. */
export function normaliseLineEndings(text: string): string {
  return text.replace(/\r\n?/g, "\n");
}

/** SHA-256 (hex) of a migration's up section, line endings normalised (SPEC §2). */
export function checksumOf(upSection: string): string {
  return createHash("sha256").update(normaliseLineEndings(upSection), "utf8").digest("hex");
}
