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
