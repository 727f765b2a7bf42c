import type { NextApiRequest, NextApiResponse } from "next";
import { requireMethod, sendJson } from "../../server/http.ts";
import { studioMigrations } from "../../server/migrations.ts";

const TIMEOUT_MS = 3_000;

/** For a platform's health checks: no secret, and nothing revealed beyond up or down. */
export default async function health(req: NextApiRequest, res: NextApiResponse) {
  if (!requireMethod(req, res, "GET")) return;
  try {
    const { executor } = await studioMigrations();
    await Promise.race([
      executor.readState(),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error("timeout")), TIMEOUT_MS).unref(),
      ),
    ]);
    sendJson(res, 200, { ok: true });
  } catch {
    sendJson(res, 503, { ok: false });
  }
}
