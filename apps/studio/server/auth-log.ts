/**
 * One structured line per authentication event, beside the migration attempts' lines (SPEC §6):
 * who signed in or out, and every wrong secret and throttled sign-in with the address it came
 * from. Never a secret — not even a wrong one, which may be the right one mistyped — and never the
 * name typed with a wrong secret, which may be a secret pasted into the wrong field.
 */
export type AuthEvent =
  | {
      event: "auth_wrong_secret";
      via: "sign-in" | "header";
      address: string;
      /** Wrong secrets from the address within the throttle's window; null when not counted. */
      failures: number | null;
    }
  | { event: "auth_throttled"; address: string; retryAfterSeconds: number }
  | { event: "auth_signed_in"; address: string; actor: string }
  | { event: "auth_signed_out"; address: string; actor: string };

export function authLogLine(entry: AuthEvent, at: Date = new Date()): string {
  const level =
    entry.event === "auth_signed_in" || entry.event === "auth_signed_out" ? "info" : "warn";
  const { event, ...fields } = entry;
  return JSON.stringify({ ts: at.toISOString(), level, event, ...fields });
}

export function logAuthEvent(entry: AuthEvent): void {
  const line = authLogLine(entry);
  if (entry.event === "auth_signed_in" || entry.event === "auth_signed_out") console.log(line);
  else console.warn(line);
}
