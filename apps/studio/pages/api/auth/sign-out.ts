import type { NextApiRequest, NextApiResponse } from "next";
import { CSRF_HEADER, clearSessionCookie, isSecureRequest } from "../../../server/auth.ts";
import { requireMethod, sendJson } from "../../../server/http.ts";

export default function signOut(req: NextApiRequest, res: NextApiResponse) {
  if (!requireMethod(req, res, "POST")) return;
  if (req.headers[CSRF_HEADER] !== "1")
    return sendJson(res, 403, { error: "Sign out from Studio's pages." });
  res.setHeader("set-cookie", clearSessionCookie(isSecureRequest(req)));
  res.status(204).end();
}
