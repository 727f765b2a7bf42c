import {
  parseBody,
  readJsonBody,
  restRollback,
  restRoute,
  rollbackBody,
} from "../../../../server/rest.ts";

/** `POST /api/platform/migrations/rollback` with `{ "migration_name": "…", "mark_only"?, "dry_run"? }`. */
export default restRoute("POST", async ({ req, caller }) => {
  const body = parseBody(rollbackBody, await readJsonBody(req));
  return restRollback(
    await caller.rollback({
      migrationName: body.migration_name,
      markOnly: body.mark_only,
      dryRun: body.dry_run,
    }),
  );
});

export const config = { api: { bodyParser: false } };
