import type { ReactNode } from "react";
import { Alert } from "../../ui/Alert";
import { DetailItem } from "../../ui/DetailItem";
import type { ErrorView } from "./Migrations.utils";

interface ActionErrorAlertProps {
  error: ErrorView;
  actions?: ReactNode;
  "data-testid"?: string;
}

/**
 * A refusal (message and what to do) or a failed migration (its name and exactly what Postgres
 * said: message, SQLSTATE, detail, hint, position).
 */
export function ActionErrorAlert({
  error,
  actions,
  "data-testid": testId = "action-error",
}: ActionErrorAlertProps) {
  const { failure } = error;
  const applied = error.steps.filter((s) => s.status === "applied").map((s) => s.migrationName);
  const skipped = error.steps.filter((s) => s.status === "skipped").map((s) => s.migrationName);
  const failedStep = error.steps.find((s) => s.status === "failed");
  return (
    <Alert
      tone="danger"
      role="alert"
      data-testid={testId}
      title={<span className="break-words">{error.title}</span>}
      actions={actions}
    >
      {failure ? (
        <div className="space-y-2">
          <p
            data-testid="error-message"
            className="rounded border border-destructive-border bg-canvas px-2.5 py-1.5 font-mono text-xs whitespace-pre-wrap break-words text-destructive"
          >
            ERROR: {failure.message}
          </p>
          <dl className="grid grid-cols-[auto_minmax(0,1fr)] gap-x-3 gap-y-0.5 text-xs">
            {failure.code ? <DetailItem term="SQLSTATE" value={failure.code} mono /> : null}
            {failure.detail ? <DetailItem term="Detail" value={failure.detail} /> : null}
            {failure.hint ? <DetailItem term="Hint" value={failure.hint} /> : null}
            {failure.position !== null ? (
              <DetailItem term="Position" value={`character ${failure.position}`} />
            ) : null}
          </dl>
          <p className="text-xs text-foreground-light">
            {failedStep?.transactional === true
              ? "It ran in a transaction that was rolled back: nothing of it was kept. Fix the migration and try again."
              : failedStep?.transactional === false
                ? "It ran outside a transaction: the statements before the failing one stay done, and it blocks applies until it is resolved (see the problems above)."
                : "Fix the migration and try again. One that runs outside a transaction may have left partial changes: see the problems above."}
            {applied.length > 0 ? ` Applied before the failure: ${applied.join(", ")}.` : ""}
            {skipped.length > 0 ? ` Not attempted: ${skipped.join(", ")}.` : ""}
          </p>
        </div>
      ) : (
        <div className="space-y-1">
          <p data-testid="error-message" className="break-words">
            {error.message}
          </p>
          {error.hint ? (
            <p data-testid="error-hint" className="break-words">
              <span className="font-medium text-foreground">What to do: </span>
              {error.hint}
            </p>
          ) : null}
        </div>
      )}
    </Alert>
  );
}
