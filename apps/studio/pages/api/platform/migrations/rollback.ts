import {
  parseBody,
  readJsonBody,
  restRollback,
  restRoute,
  rollbackBody,
} from "../../../../server/rest.ts";

/**
 * `POST /api/platform/migrations/rollback` with exactly one of `{ "migration_name": "…" }`,
 * `{ "to": "…" }` (everything applied after it) or `{ "steps": n }` (the newest n), and
 * `"mark_only"?`, `"dry_run"?` (SPEC §4, §5). A run answers `{ results: [...] }`, a step per
 * migration, newest first.
 */
export default restRoute("POST", async ({ req, caller }) => {
  const body = parseBody(rollbackBody, await readJsonBody(req));
  return restRollback(
    await caller.rollback({
      migrationName: body.migration_name,
      to: body.to,
      steps: body.steps,
      markOnly: body.mark_only,
      dryRun: body.dry_run,
    }),
  );
});

export const config = { api: { bodyParser: false } };
