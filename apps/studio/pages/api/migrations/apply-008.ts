import { z } from "zod";
import { parseBody, readJsonBody, restApply, restRoute } from "../../../server/rest.ts";

/**
 * The one-shot server's old endpoint, kept as a fallback for scripts that still call it: it
 * applies 008 through the engine — tracked, locked, and refused while 001–007 are pending.
 */
export default restRoute("POST", async ({ req, caller }) => {
  parseBody(
    z.object({ migration_name: z.literal("008_add_active_org_tracking").optional() }).strict(),
    await readJsonBody(req),
  );
  return restApply(await caller.apply({ migrationName: "008_add_active_org_tracking" }));
});

export const config = { api: { bodyParser: false } };
