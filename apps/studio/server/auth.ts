import { createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { ACTOR_RULE, isValidActor } from "@studio/migrations-core/rules";
import { authenticateSecretHeaders, SECRET_HEADER } from "@studio/migrations-trpc";
import { studioConfig } from "./config.ts";

/**
 * Two ways in (SPEC §5): the secret header, for servers and scripts; or a signed session cookie,
 * for the browser, set by the sign-in page. A cookie rides along on cross-site requests, so a
 * cookie-authenticated request that changes anything must also carry `x-studio-csrf` — a custom
 * header a cross-site form or image cannot send — and, when the browser says where it comes from,
 * come from this origin. The cookie is SameSite=Strict besides.
 */

export const SESSION_COOKIE = "studio_session";
export const CSRF_HEADER = "x-studio-csrf";
const SESSION_TTL_SECONDS = 12 * 60 * 60;

export type Caller =
  | { ok: true; actor: string; via: "secret" | "session" }
  | { ok: false; status: 400 | 401 | 403; message: string };

// Sessions are signed with a key derived from the secret: rotating the secret signs everyone out.
function sessionKey(): Buffer {
  return createHmac("sha256", studioConfig().secret).update("studio-session-v1").digest();
}

function sign(payload: string): string {
  return createHmac("sha256", sessionKey()).update(payload).digest("base64url");
}

export function createSessionCookie(actor: string, secure: boolean, now = Date.now()): string {
  const payload = Buffer.from(
    JSON.stringify({ actor, exp: Math.floor(now / 1000) + SESSION_TTL_SECONDS }),
  ).toString("base64url");
  return serializeCookie(`${payload}.${sign(payload)}`, SESSION_TTL_SECONDS, secure);
}

export function clearSessionCookie(secure: boolean): string {
  return serializeCookie("", 0, secure);
}

function serializeCookie(value: string, maxAge: number, secure: boolean): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure ? "; Secure" : ""}`;
}

/** The actor of a valid, unexpired session cookie, or null. */
export function sessionActor(cookieHeader: string | undefined, now = Date.now()): string | null {
  const raw = cookieHeader
    ?.split(";")
    .map((part) => part.trim())
    .find((part) => part.startsWith(`${SESSION_COOKIE}=`))
    ?.slice(SESSION_COOKIE.length + 1);
  if (!raw) return null;
  const [payload, signature] = raw.split(".");
  if (!payload || !signature) return null;
  const expected = Buffer.from(sign(payload));
  const given = Buffer.from(signature);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
  try {
    const session = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as {
      actor?: unknown;
      exp?: unknown;
    };
    if (typeof session.actor !== "string" || !isValidActor(session.actor)) return null;
    if (typeof session.exp !== "number" || session.exp * 1000 < now) return null;
    return session.actor;
  } catch {
    return null;
  }
}

export interface RequestLike {
  method?: string | undefined;
  headers: IncomingHttpHeaders;
}

/** Whether the request came over TLS (directly or through a proxy that says so). */
export function isSecureRequest(req: RequestLike): boolean {
  return req.headers["x-forwarded-proto"] === "https";
}

/**
 * Who is calling. `changes` says whether the request can change anything (every POST does), which
 * is when a cookie alone is not enough.
 */
export function identifyCaller(
  req: RequestLike,
  changes = req.method !== "GET" && req.method !== "HEAD",
): Caller {
  const config = studioConfig();
  if (req.headers[SECRET_HEADER] !== undefined) {
    const auth = authenticateSecretHeaders(req.headers, config.secret);
    if (auth.ok) return { ok: true, actor: auth.actor, via: "secret" };
    if (auth.reason === "invalid_actor") {
      return {
        ok: false,
        status: 400,
        message: `x-migration-actor must be ${ACTOR_RULE}.`,
      };
    }
    return { ok: false, status: 401, message: "The migration secret was not accepted." };
  }
  const actor = sessionActor(req.headers.cookie);
  if (actor === null) {
    return {
      ok: false,
      status: 401,
      message: "Authentication required: send x-migration-secret, or sign in to Studio.",
    };
  }
  if (changes && !isSameSiteRequest(req)) {
    return {
      ok: false,
      status: 403,
      message:
        "Cross-site request refused: a signed-in browser must send x-studio-csrf from Studio's own pages.",
    };
  }
  return { ok: true, actor, via: "session" };
}

function isSameSiteRequest(req: RequestLike): boolean {
  if (req.headers[CSRF_HEADER] !== "1") return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
