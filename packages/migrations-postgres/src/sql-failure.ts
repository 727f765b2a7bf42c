import type { SqlFailure } from "@studio/migrations-core";

/**
 * What the database said, from a `pg` or PGlite error (both carry Postgres' error fields), or from
 * anything else thrown on the way (a dropped connection has no SQLSTATE).
 */
export function toSqlFailure(error: unknown): SqlFailure {
  if (typeof error === "object" && error !== null) {
    const e = error as Record<string, unknown>;
    const text = (key: string) =>
      typeof e[key] === "string" && e[key] !== "" ? (e[key] as string) : null;
    const position = text("position");
    return {
      message: text("message") ?? String(error),
      code:
        text("code") !== null && /^[0-9A-Z]{5}$/.test(text("code") as string) ? text("code") : null,
      detail: text("detail"),
      hint: text("hint"),
      position: position === null || Number.isNaN(Number(position)) ? null : Number(position),
    };
  }
  return { message: String(error), code: null, detail: null, hint: null, position: null };
}

/** `lock_timeout` fired (55P03): worth retrying after a pause rather than failing. */
export function isLockTimeout(failure: SqlFailure): boolean {
  return failure.code === "55P03";
}

export interface Timeouts {
  /** How long one statement may wait for a lock before giving up (`lock_timeout`). */
  lockTimeoutMs: number;
  /** How long one statement may run (`statement_timeout`); 0 for no limit. */
  statementTimeoutMs: number;
  /** Attempts after a `lock_timeout`, with exponential backoff between them. */
  lockRetries: number;
  /** The first pause before a retry; doubled each time, with jitter. */
  lockRetryDelayMs: number;
}

/**
 * A migration that waits on a lock queues every later writer of that table behind it, so it
 * should give up quickly and try again later rather than wait; a runaway statement is stopped.
 */
export const DEFAULT_TIMEOUTS: Timeouts = {
  lockTimeoutMs: 5_000,
  statementTimeoutMs: 30 * 60_000,
  lockRetries: 4,
  lockRetryDelayMs: 500,
};

export function retryDelayMs(timeouts: Timeouts, attempt: number): number {
  const base = timeouts.lockRetryDelayMs * 2 ** attempt;
  return Math.round(base / 2 + Math.random() * (base / 2));
}

/** `SET [LOCAL] lock_timeout …; SET [LOCAL] statement_timeout …` for the given scope. */
export function timeoutSettings(timeouts: Timeouts, scope: "local" | "session"): string {
  const set = scope === "local" ? "set local" : "set";
  return `${set} lock_timeout = ${Math.max(0, Math.round(timeouts.lockTimeoutMs))}; ${set} statement_timeout = ${Math.max(0, Math.round(timeouts.statementTimeoutMs))}`;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
