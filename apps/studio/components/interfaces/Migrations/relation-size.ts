import type { RelationSize } from "./Migrations.types";

/**
 * A table's size as the page shows it beside a lint finding: `≈1.2 M rows, 380 MB`. Worded as the
 * lint's own messages word it (`@studio/migrations-lint`'s `relationPhrase`), so the size beside
 * a finding and the size inside its message always agree. (That package is not imported here: it
 * carries PostgreSQL's parser as WebAssembly, which the browser has no use for.)
 */
export function sizeText(size: RelationSize | null): string | null {
  if (size === null || !size.exists) return null;
  const rows = size.estimatedRows === null ? "rows unknown" : rowCount(size.estimatedRows);
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

/** As `pg_size_pretty` says it (1024-based units): `8192 bytes`, `1.5 MB`, `380 MB`. */
export function byteSize(bytes: number): string {
  if (bytes < 10 * 1024) return `${bytes} bytes`;
  let value = bytes;
  for (const unit of ["kB", "MB", "GB", "TB"]) {
    value /= 1024;
    if (value < 1024 || unit === "TB") return `${short(value)} ${unit}`;
  }
  return `${bytes} bytes`;
}

/** One decimal below 10, none above: `1.5`, `12`, `380`. */
function short(value: number): string {
  return value < 10 ? String(Math.round(value * 10) / 10) : String(Math.round(value));
}

/**
 * How heavy a table lock is for the traffic on a live table, for its colour: `blocks-all` stops
 * reads too (ACCESS EXCLUSIVE), `blocks-writes` stops INSERT/UPDATE/DELETE (SHARE and the modes
 * between it and ACCESS EXCLUSIVE), `light` lets both go on.
 */
export type LockWeight = "blocks-all" | "blocks-writes" | "light";

export function lockWeight(mode: string): LockWeight {
  switch (mode) {
    case "ACCESS EXCLUSIVE":
      return "blocks-all";
    case "SHARE":
    case "SHARE ROW EXCLUSIVE":
    case "EXCLUSIVE":
      return "blocks-writes";
    default:
      return "light";
  }
}

/** What a lock mode means for the table's other sessions, in a few words (a lock's tooltip). */
export const LOCK_WEIGHT_NOTES: Record<LockWeight, string> = {
  "blocks-all": "reads and writes of the table wait until the transaction ends",
  "blocks-writes": "writes to the table wait until the transaction ends; reads go on",
  light: "reads and writes go on; only schema changes and other heavy locks wait",
};
