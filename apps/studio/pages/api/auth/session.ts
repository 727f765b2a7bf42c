import type { NextApiRequest, NextApiResponse } from "next";
import { SESSION_UNAVAILABLE_MESSAGE } from "../../../server/auth.ts";
import { requireMethod, sendJson } from "../../../server/http.ts";
import { sessionActor } from "../../../server/sessions.ts";

/** Who the browser is signed in as. */
export default async function session(req: NextApiRequest, res: NextApiResponse) {
  if (!requireMethod(req, res, "GET")) return;
  let actor: string | null;
  try {
    actor = await sessionActor(req.headers.cookie);
  } catch (error) {
    console.error(`[studio] ${error instanceof Error ? error.message : String(error)}`);
    return sendJson(res, 503, { error: SESSION_UNAVAILABLE_MESSAGE });
  }
  if (actor === null) return sendJson(res, 401, { error: "Not signed in." });
  sendJson(res, 200, { actor });
}
