import type { IncomingHttpHeaders } from "node:http";
import { ACTOR_RULE } from "@studio/migrations-core/rules";
import { authenticateSecretHeaders, SECRET_HEADER } from "@studio/migrations-trpc";
import { logAuthEvent } from "./auth-log.ts";
import { studioAuthStore } from "./auth-store.ts";
import { type AddressedRequest, clientAddress } from "./client-address.ts";
import { studioConfig } from "./config.ts";
import { sessionActor } from "./sessions.ts";

/**
 * Two ways in (SPEC §5): the secret header, for servers and scripts; or a session cookie, for the
 * browser, set by the sign-in page (`sessions.ts`). A cookie rides along on cross-site requests,
 * so a cookie-authenticated request that changes anything must also carry `x-studio-csrf` — a
 * custom header a cross-site form or image cannot send — and, when the browser says where it
 * comes from, come from this origin. The cookie is SameSite=Strict besides.
 */

export { SESSION_COOKIE } from "./sessions.ts";
export const CSRF_HEADER = "x-studio-csrf";

export type Caller =
  | {
      ok: true;
      actor: string;
      via: "secret" | "session";
      /**
       * Whether what let the caller in still does: the session row is still there (not signed
       * out, not expired), or the secret header still matches the secret. What outlives the
       * request's start asks it again: an open progress stream ends when it says no (SPEC §6).
       * Throws when the database cannot say.
       */
      stillAuthorized(): Promise<boolean>;
    }
  | { ok: false; status: 400 | 401 | 403 | 503; message: string };

export interface RequestLike extends AddressedRequest {
  method?: string | undefined;
  headers: IncomingHttpHeaders;
}

/** Whether the request came over TLS (directly or through a proxy that says so). */
export function isSecureRequest(req: RequestLike): boolean {
  return req.headers["x-forwarded-proto"] === "https";
}

/** Where the request comes from, for the throttle and the logs (`STUDIO_TRUSTED_PROXIES`). */
export function requestAddress(req: AddressedRequest): string {
  return clientAddress(req, studioConfig().trustedProxies);
}

export const SESSION_UNAVAILABLE_MESSAGE =
  "Studio's database is not answering, so the session cannot be checked. Try again shortly.";

/**
 * Who is calling. `changes` says whether the request can change anything (every POST does), which
 * is when a cookie alone is not enough.
 */
export async function identifyCaller(
  req: RequestLike,
  changes = req.method !== "GET" && req.method !== "HEAD",
): Promise<Caller> {
  const config = studioConfig();
  if (req.headers[SECRET_HEADER] !== undefined) {
    const auth = authenticateSecretHeaders(req.headers, config.secret);
    if (auth.ok) {
      const headers = req.headers;
      return {
        ok: true,
        actor: auth.actor,
        via: "secret",
        stillAuthorized: async () => authenticateSecretHeaders(headers, studioConfig().secret).ok,
      };
    }
    if (auth.reason === "invalid_actor") {
      return {
        ok: false,
        status: 400,
        message: `x-migration-actor must be ${ACTOR_RULE}.`,
      };
    }
    if (auth.reason === "wrong_secret") countWrongHeaderSecret(requestAddress(req));
    return { ok: false, status: 401, message: "The migration secret was not accepted." };
  }
  let actor: string | null;
  try {
    actor = await sessionActor(req.headers.cookie);
  } catch (error) {
    console.error(`[studio] ${error instanceof Error ? error.message : String(error)}`);
    return { ok: false, status: 503, message: SESSION_UNAVAILABLE_MESSAGE };
  }
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
  const cookie = req.headers.cookie;
  return {
    ok: true,
    actor,
    via: "session",
    stillAuthorized: async () => (await sessionActor(cookie)) === actor,
  };
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

/** Beyond this many recordings in flight, a wrong header secret is logged but not counted. */
const MAX_RECORDINGS_IN_FLIGHT = 16;
let recordingsInFlight = 0;

/**
 * A wrong `x-migration-secret` counts toward its address's tally (so guessing through the API
 * also pauses that address's sign-ins) and is logged. Recorded after the answer, not before it:
 * the call's 401 stays exactly what it was — same status, body and timing — whether the database
 * answers or not, and a flood cannot queue unbounded work on the database.
 */
function countWrongHeaderSecret(address: string): void {
  if (recordingsInFlight >= MAX_RECORDINGS_IN_FLIGHT) {
    logAuthEvent({ event: "auth_wrong_secret", via: "header", address, failures: null });
    return;
  }
  recordingsInFlight++;
  void studioAuthStore()
    .then((store) => store.recordWrongSecret(address, "header"))
    .then(
      (failures) => logAuthEvent({ event: "auth_wrong_secret", via: "header", address, failures }),
      () => logAuthEvent({ event: "auth_wrong_secret", via: "header", address, failures: null }),
    )
    .finally(() => {
      recordingsInFlight--;
    });
}
