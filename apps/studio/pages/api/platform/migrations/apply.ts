import {
  applyBody,
  parseBody,
  readJsonBody,
  restApply,
  restRoute,
} from "../../../../server/rest.ts";

/**
 * `POST /api/platform/migrations/apply` with `{ "migration_name": "…" }`, or `{}` for all pending
 * (SPEC §5). Also `up_to`, `dry_run`, `allow_out_of_order`.
 */
export default restRoute("POST", async ({ req, caller }) => {
  const body = parseBody(applyBody, await readJsonBody(req));
  return restApply(
    await caller.apply({
      migrationName: body.migration_name,
      upTo: body.up_to,
      dryRun: body.dry_run,
      allowOutOfOrder: body.allow_out_of_order,
    }),
  );
});

export const config = { api: { bodyParser: false } };
