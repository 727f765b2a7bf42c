import type { RelationLockHolder, RelationSize } from "@studio/migrations-core";

/*
 * How the lint words sizes and sessions. Imports nothing at run time (no parser, no WebAssembly),
 * so a browser can load it (`@studio/migrations-lint/describe`): a face that shows a finding's
 * size beside its message words it as the message does.
 */

/** How a table is named in a message: `platform.users (≈1.2 M rows, 380 MB)` when its size is known. */
export function relationPhrase(name: string, size: RelationSize | null): string {
  const phrase = sizePhrase(size);
  return phrase === null ? name : `${name} (${phrase})`;
}

/**
 * A table's size: `≈1.2 M rows, 380 MB`; `rows unknown: never analyzed, 8192 bytes` when the
 * planner has no estimate yet; null when there is no size (not asked, or the table is not there).
 */
export function sizePhrase(size: RelationSize | null): string | null {
  if (size === null || !size.exists) return null;
  const rows =
    size.estimatedRows === null ? "rows unknown: never analyzed" : rowCount(size.estimatedRows);
  return size.totalBytes === null ? rows : `${rows}, ${byteSize(size.totalBytes)}`;
}

/** `≈742 rows`, `≈12 k rows`, `≈1.2 M rows`. */
export function rowCount(rows: number): string {
  if (rows < 1000) return `≈${rows} ${rows === 1 ? "row" : "rows"}`;
  for (const [unit, scale] of [
    ["k", 1e3],
    ["M", 1e6],
    ["G", 1e9],
  ] as const) {
    const value = rows / scale;
    if (value < 1000 || unit === "G") return `≈${short(value)} ${unit} rows`;
  }
  return `≈${rows} rows`;
}

/** As `pg_size_pretty` says it (1024-based units), one decimal below 10: `8192 bytes`, `1.5 MB`, `380 MB`. */
export function byteSize(bytes: number): string {
  if (bytes < 10 * 1024) return `${bytes} bytes`;
  let value = bytes;
  for (const unit of ["kB", "MB", "GB", "TB"]) {
    value /= 1024;
    if (value < 1024 || unit === "TB") return `${short(value)} ${unit}`;
  }
  return `${bytes} bytes`;
}

function short(value: number): string {
  return value < 10 ? String(Math.round(value * 10) / 10) : String(Math.round(value));
}

/** The sessions in the way, for a message: at most three named, then how many more. */
export function holdersPhrase(holders: readonly RelationLockHolder[]): string {
  const named = holders.slice(0, 3).map(holderPhrase);
  const more = holders.length - named.length;
  return more > 0 ? `${named.join("; ")}; and ${more} more` : named.join("; ");
}

function holderPhrase(holder: RelationLockHolder): string {
  const who = holder.pid === null ? "a prepared transaction" : `pid ${holder.pid}`;
  const app = holder.applicationName === null ? "" : ` (${holder.applicationName})`;
  const what = holder.granted ? `holding ${holder.mode}` : `queued for ${holder.mode}`;
  const since = holder.since === null ? "" : ` since ${holder.since}`;
  const state = holder.state === null ? "" : `, ${holder.state}`;
  const query =
    holder.query === null || holder.query.trim() === "" ? "" : `: "${excerpt(holder.query, 80)}"`;
  return `${who}${app} ${what}${since}${state}${query}`;
}

/** White space collapsed, cut at `length` characters with an ellipsis. */
export function excerpt(text: string, length: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > length ? `${flat.slice(0, length - 1)}…` : flat;
}
