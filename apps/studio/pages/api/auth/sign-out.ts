import type { NextApiRequest, NextApiResponse } from "next";
import { CSRF_HEADER, isSecureRequest, requestAddress } from "../../../server/auth.ts";
import { logAuthEvent } from "../../../server/auth-log.ts";
import { requireMethod, sendJson } from "../../../server/http.ts";
import { clearSessionCookie, endSession } from "../../../server/sessions.ts";

/** Ends the session for real: its row goes, so the cookie is refused by every replica. */
export default async function signOut(req: NextApiRequest, res: NextApiResponse) {
  if (!requireMethod(req, res, "POST")) return;
  if (req.headers[CSRF_HEADER] !== "1")
    return sendJson(res, 403, { error: "Sign out from Studio's pages." });
  // Whatever the database says, this browser forgets the session.
  res.setHeader("set-cookie", clearSessionCookie(isSecureRequest(req)));
  let actor: string | null;
  try {
    actor = await endSession(req.headers.cookie);
  } catch (error) {
    console.error(`[studio] ${error instanceof Error ? error.message : String(error)}`);
    return sendJson(res, 503, {
      error:
        "Studio's database is not answering: this browser is signed out, but the session could not be ended for good. Sign in and out again once Studio is back.",
    });
  }
  if (actor !== null)
    logAuthEvent({ event: "auth_signed_out", address: requestAddress(req), actor });
  res.status(204).end();
}
