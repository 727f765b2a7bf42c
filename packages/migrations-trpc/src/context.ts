import { createHash, timingSafeEqual } from "node:crypto";
// The rules alone, not the core: the typed client (`./client`) loads this module.
import { isValidActor } from "@studio/migrations-core/rules";

/** What every request carries into the router: who is calling. The host app builds it. */
export interface MigrationsContext {
  /** The authenticated actor, recorded as `applied_by` and in the audit trail; null refuses. */
  actor: string | null;
  /**
   * Whether the credentials this request was authenticated with still hold — the session row is
   * still there, the secret is still the one expected — asked again and again by what outlives a
   * request's start: an open `migrations.progress` stream ends with `UNAUTHORIZED` once it
   * answers `false` (signing out ends the stream, SPEC §6). Absent: nothing to re-check.
   */
  stillAuthorized?: (() => Promise<boolean>) | undefined;
}

/** For tests and hosts: the context from an already-authenticated actor. */
export function createContextInner({
  actor,
  stillAuthorized,
}: {
  actor: string | null;
  stillAuthorized?: (() => Promise<boolean>) | undefined;
}): MigrationsContext {
  return stillAuthorized === undefined ? { actor } : { actor, stillAuthorized };
}

export const SECRET_HEADER = "x-migration-secret";
export const ACTOR_HEADER = "x-migration-actor";
/** The actor of a header-authenticated call that names none (SPEC §6). */
export const DEFAULT_SECRET_ACTOR = "secret";

/**
 * Compares a provided secret with the expected one in constant time. Both are hashed first, so
 * neither their lengths nor a common prefix shows in the timing.
 */
export function secretsMatch(expected: string, provided: string | null | undefined): boolean {
  if (typeof provided !== "string" || expected.length === 0) return false;
  const a = createHash("sha256").update(expected).digest();
  const b = createHash("sha256").update(provided).digest();
  return timingSafeEqual(a, b);
}

/** The core's actor rule, re-exported for hosts that authenticate callers themselves. */
export { isValidActor };

export type HeaderBag = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderBag, name: string): string | null {
  if (headers instanceof Headers) return headers.get(name);
  const value = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(value) ? (value[0] ?? null) : (value ?? null);
}

export type SecretAuthentication =
  | { ok: true; actor: string }
  | { ok: false; reason: "missing_secret" | "wrong_secret" | "invalid_actor" };

/**
 * Authenticates a server-to-server call: `x-migration-secret` must match, and
 * `x-migration-actor` (default `secret`) names the caller. Never echoes the secret.
 */
export function authenticateSecretHeaders(
  headers: HeaderBag,
  secret: string,
): SecretAuthentication {
  const provided = header(headers, SECRET_HEADER);
  if (provided === null || provided === "") return { ok: false, reason: "missing_secret" };
  if (!secretsMatch(secret, provided)) return { ok: false, reason: "wrong_secret" };
  const actor = header(headers, ACTOR_HEADER) ?? DEFAULT_SECRET_ACTOR;
  if (!isValidActor(actor)) return { ok: false, reason: "invalid_actor" };
  return { ok: true, actor };
}
