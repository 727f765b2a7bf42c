import type { NextApiRequest, NextApiResponse } from "next";
import { sessionActor } from "../../../server/auth.ts";
import { requireMethod, sendJson } from "../../../server/http.ts";

/** Who the browser is signed in as. */
export default function session(req: NextApiRequest, res: NextApiResponse) {
  if (!requireMethod(req, res, "GET")) return;
  const actor = sessionActor(req.headers.cookie);
  if (actor === null) return sendJson(res, 401, { error: "Not signed in." });
  sendJson(res, 200, { actor });
}
