import type { TableLockMode } from "@studio/migrations-core";

/** PostgreSQL's table lock modes, weakest first (their order in `lockdefs.h`, 1–8). */
export const TABLE_LOCK_MODES: readonly TableLockMode[] = [
  "ACCESS SHARE",
  "ROW SHARE",
  "ROW EXCLUSIVE",
  "SHARE UPDATE EXCLUSIVE",
  "SHARE",
  "SHARE ROW EXCLUSIVE",
  "EXCLUSIVE",
  "ACCESS EXCLUSIVE",
];

/**
 * Which modes each mode conflicts with: the table "Conflicting Lock Modes" of PostgreSQL's
 * documentation (13.3.1), which is symmetric.
 */
const CONFLICTS: Readonly<Record<TableLockMode, readonly TableLockMode[]>> = {
  "ACCESS SHARE": ["ACCESS EXCLUSIVE"],
  "ROW SHARE": ["EXCLUSIVE", "ACCESS EXCLUSIVE"],
  "ROW EXCLUSIVE": ["SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE", "ACCESS EXCLUSIVE"],
  "SHARE UPDATE EXCLUSIVE": [
    "SHARE UPDATE EXCLUSIVE",
    "SHARE",
    "SHARE ROW EXCLUSIVE",
    "EXCLUSIVE",
    "ACCESS EXCLUSIVE",
  ],
  SHARE: [
    "ROW EXCLUSIVE",
    "SHARE UPDATE EXCLUSIVE",
    "SHARE ROW EXCLUSIVE",
    "EXCLUSIVE",
    "ACCESS EXCLUSIVE",
  ],
  "SHARE ROW EXCLUSIVE": [
    "ROW EXCLUSIVE",
    "SHARE UPDATE EXCLUSIVE",
    "SHARE",
    "SHARE ROW EXCLUSIVE",
    "EXCLUSIVE",
    "ACCESS EXCLUSIVE",
  ],
  EXCLUSIVE: [
    "ROW SHARE",
    "ROW EXCLUSIVE",
    "SHARE UPDATE EXCLUSIVE",
    "SHARE",
    "SHARE ROW EXCLUSIVE",
    "EXCLUSIVE",
    "ACCESS EXCLUSIVE",
  ],
  "ACCESS EXCLUSIVE": TABLE_LOCK_MODES,
};

export function isTableLockMode(mode: string): mode is TableLockMode {
  return (TABLE_LOCK_MODES as readonly string[]).includes(mode);
}

/**
 * Whether a request for `requested` must wait for a session holding — or queued ahead for —
 * `other`. Modes that are not table lock modes (a predicate `SIReadLock`) conflict with none.
 */
export function lockModesConflict(requested: TableLockMode, other: string): boolean {
  return isTableLockMode(other) && CONFLICTS[requested].includes(other);
}

/** The stronger of two modes (a statement holds the strongest any of its parts needs). */
export function strongerLockMode(a: TableLockMode, b: TableLockMode): TableLockMode {
  return TABLE_LOCK_MODES.indexOf(a) >= TABLE_LOCK_MODES.indexOf(b) ? a : b;
}

/** `LOCK TABLE`'s mode as the parse tree numbers it (1 = ACCESS SHARE … 8 = ACCESS EXCLUSIVE). */
export function lockModeOfNumber(mode: number | undefined): TableLockMode {
  return TABLE_LOCK_MODES[(mode ?? 8) - 1] ?? "ACCESS EXCLUSIVE";
}
