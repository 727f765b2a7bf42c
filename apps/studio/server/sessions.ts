import { createHash, createHmac, randomBytes } from "node:crypto";
import { sealData, unsealData } from "iron-session";
import { studioAuthStore } from "./auth-store.ts";
import { studioConfig } from "./config.ts";

/**
 * Browser sessions (SPEC §6). The cookie is an iron-session seal (encrypted and authenticated) of
 * a random session id, under a key derived from `MIGRATION_SECRET` — so rotating the secret ends
 * every session. The session itself is a row in the database all replicas share, keyed by a hash
 * of the id: signing out deletes it, and the cookie stops working on every replica at once.
 *
 * The seal functions rather than `getIronSession`: callers are identified from request headers
 * alone (the tRPC context and the REST adapter), with no response at hand.
 */

export const SESSION_COOKIE = "studio_session";
export const SESSION_TTL_SECONDS = 12 * 60 * 60;
/** A seal of `{ sid }` is about 250 characters; anything much longer is not one of ours. */
const MAX_SEAL_LENGTH = 1024;
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

interface SealedSession {
  sid?: unknown;
}

/**
 * iron-session wants a password of at least 32 characters; a development secret may be shorter,
 * and the raw secret should not double as the cookie key anyway.
 */
function sealPassword(): string {
  return createHmac("sha256", studioConfig().secret)
    .update("studio-session-seal-v2")
    .digest("base64url");
}

function idHash(sessionId: string): string {
  return createHash("sha256").update(sessionId).digest("hex");
}

/** Records a new session for `actor`; the `Set-Cookie` value that carries it. */
export async function startSession(options: {
  actor: string;
  secure: boolean;
  /** The sign-in attempt whose secret was right: it no longer counts as wrong. */
  forgiving?: string;
}): Promise<string> {
  const sid = randomBytes(32).toString("base64url");
  const store = await studioAuthStore();
  await store.createSession({
    idHash: idHash(sid),
    actor: options.actor,
    ttlSeconds: SESSION_TTL_SECONDS,
    ...(options.forgiving ? { forgiving: options.forgiving } : {}),
  });
  const seal = await sealData({ sid }, { password: sealPassword(), ttl: SESSION_TTL_SECONDS });
  return serializeCookie(seal, SESSION_TTL_SECONDS, options.secure);
}

/**
 * The actor of the session the cookie names, if it is still open; null without a valid cookie
 * (no database call then). Throws `StudioAuthStoreUnavailableError` if the database cannot say.
 */
export async function sessionActor(cookieHeader: string | undefined): Promise<string | null> {
  const sid = await sessionIdOf(cookieHeader);
  if (sid === null) return null;
  const session = await (await studioAuthStore()).activeSession(idHash(sid));
  return session?.actor ?? null;
}

/** Ends the cookie's session on every replica; the actor it belonged to, or null if none. */
export async function endSession(cookieHeader: string | undefined): Promise<string | null> {
  const sid = await sessionIdOf(cookieHeader);
  if (sid === null) return null;
  const ended = await (await studioAuthStore()).endSession(idHash(sid));
  return ended?.actor ?? null;
}

export function clearSessionCookie(secure: boolean): string {
  return serializeCookie("", 0, secure);
}

function serializeCookie(value: string, maxAge: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure ? "; Secure" : ""}`;
}

async function sessionIdOf(cookieHeader: string | undefined): Promise<string | null> {
  const seal = cookieHeader
    ?.split(";")
    .map((part) => part.trim())
    .find((part) => part.startsWith(`${SESSION_COOKIE}=`))
    ?.slice(SESSION_COOKIE.length + 1);
  if (!seal || seal.length > MAX_SEAL_LENGTH) return null;
  try {
    // A seal under another password (a rotated secret), expired or tampered with unseals to {}.
    const data = await unsealData<SealedSession>(seal, {
      password: sealPassword(),
      ttl: SESSION_TTL_SECONDS,
    });
    return typeof data.sid === "string" && SESSION_ID.test(data.sid) ? data.sid : null;
  } catch {
    return null;
  }
}
