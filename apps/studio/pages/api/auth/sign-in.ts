import { ACTOR_RULE, isValidActor } from "@studio/migrations-core/rules";
import type { SignInGate } from "@studio/migrations-postgres";
import { secretsMatch } from "@studio/migrations-trpc";
import type { NextApiRequest, NextApiResponse } from "next";
import { z } from "zod";
import { CSRF_HEADER, isSecureRequest, requestAddress } from "../../../server/auth.ts";
import { logAuthEvent } from "../../../server/auth-log.ts";
import { studioAuthStore } from "../../../server/auth-store.ts";
import { studioConfig } from "../../../server/config.ts";
import { requireMethod, sendJson } from "../../../server/http.ts";
import { startSession } from "../../../server/sessions.ts";

/** What the sign-in page posts; anything else reads as a missing secret or name. */
const signInBody = z
  .object({
    secret: z.string().nullable().catch(null),
    name: z.string().trim().catch(""),
  })
  .catch({ secret: null, name: "" });

const UNAVAILABLE =
  "Studio's database is not answering, so no one can sign in just now. Try again shortly.";

/**
 * The sign-in page posts the migration secret and the operator's name; the name is the actor.
 * Every attempt passes the address's throttle first (SPEC §6): after 10 wrong secrets within 10
 * minutes, every sign-in from that address, right or wrong, is 429 until the window has passed.
 */
export default async function signIn(req: NextApiRequest, res: NextApiResponse) {
  if (!requireMethod(req, res, "POST")) return;
  const address = requestAddress(req);
  let gate: SignInGate;
  try {
    gate = await (await studioAuthStore()).beginSignIn(address);
  } catch (error) {
    console.error(`[studio] ${error instanceof Error ? error.message : String(error)}`);
    return sendJson(res, 503, { error: UNAVAILABLE });
  }
  if (gate.throttled) {
    logAuthEvent({ event: "auth_throttled", address, retryAfterSeconds: gate.retryAfterSeconds });
    res.setHeader("retry-after", String(gate.retryAfterSeconds));
    return sendJson(res, 429, {
      error: `Too many wrong secrets from your address: try again in ${describeWait(gate.retryAfterSeconds)}.`,
      retry_after_seconds: gate.retryAfterSeconds,
    });
  }
  // Past the gate, an attempt counts as a wrong secret unless it proves the right one; those
  // that never compare one are forgiven (before answering, so the next attempt sees it). If the
  // database fails just then, the attempt stays counted: erring toward the throttle.
  const { attemptId, failuresBefore } = gate;
  const forgive = () =>
    studioAuthStore()
      .then((store) => store.forgive(attemptId))
      .catch(() => {});
  // Refuses a cross-site form that would sign the browser in as someone else.
  if (req.headers[CSRF_HEADER] !== "1") {
    await forgive();
    return sendJson(res, 403, { error: "Sign in from Studio's sign-in page." });
  }
  const body = signInBody.parse(req.body);
  if (!isValidActor(body.name)) {
    await forgive();
    return sendJson(res, 400, {
      error: `Enter your name (${ACTOR_RULE}): it is recorded with every change.`,
    });
  }
  if (!secretsMatch(studioConfig().secret, body.secret)) {
    logAuthEvent({
      event: "auth_wrong_secret",
      via: "sign-in",
      address,
      failures: failuresBefore + 1,
    });
    return sendJson(res, 401, { error: "That secret was not accepted." });
  }
  let cookie: string;
  try {
    cookie = await startSession({
      actor: body.name,
      secure: isSecureRequest(req),
      forgiving: attemptId,
    });
  } catch (error) {
    console.error(`[studio] ${error instanceof Error ? error.message : String(error)}`);
    return sendJson(res, 503, { error: UNAVAILABLE });
  }
  logAuthEvent({ event: "auth_signed_in", address, actor: body.name });
  res.setHeader("set-cookie", cookie);
  res.status(204).end();
}

function describeWait(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? "" : "s"}`;
}
