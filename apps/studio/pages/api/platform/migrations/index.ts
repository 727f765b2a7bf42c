import { restRoute, restStatus } from "../../../../server/rest.ts";

/** `GET /api/platform/migrations` → `{ applied, pending, problems }` (SPEC §5). */
export default restRoute("GET", async ({ caller }) => restStatus(await caller.list()));
