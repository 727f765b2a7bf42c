import { ACTOR_RULE, isValidActor } from "@studio/migrations-core/rules";
import { secretsMatch } from "@studio/migrations-trpc";
import type { NextApiRequest, NextApiResponse } from "next";
import { CSRF_HEADER, createSessionCookie, isSecureRequest } from "../../../server/auth.ts";
import { studioConfig } from "../../../server/config.ts";
import { requireMethod, sendJson } from "../../../server/http.ts";

/** The sign-in page posts the migration secret and the operator's name; the name is the actor. */
export default function signIn(req: NextApiRequest, res: NextApiResponse) {
  if (!requireMethod(req, res, "POST")) return;
  // Refuses a cross-site form that would sign the browser in as someone else.
  if (req.headers[CSRF_HEADER] !== "1")
    return sendJson(res, 403, { error: "Sign in from Studio's sign-in page." });
  const body = (typeof req.body === "object" && req.body !== null ? req.body : {}) as {
    secret?: unknown;
    name?: unknown;
  };
  const name = typeof body.name === "string" ? body.name.trim() : "";
  if (!isValidActor(name)) {
    return sendJson(res, 400, {
      error: `Enter your name (${ACTOR_RULE}): it is recorded with every change.`,
    });
  }
  if (typeof body.secret !== "string" || !secretsMatch(studioConfig().secret, body.secret)) {
    return sendJson(res, 401, { error: "That secret was not accepted." });
  }
  res.setHeader("set-cookie", createSessionCookie(name, isSecureRequest(req)));
  res.status(204).end();
}
