import type { ErrorView } from "./Migrations.utils";

interface ErrorToastBodyProps {
  error: ErrorView;
}

/**
 * A failed action in a toast: exactly what Postgres said (or why it was refused), what to do, and
 * what of a run happened before it stopped — compact, since the row and the problems list show
 * the lasting state.
 */
export function ErrorToastBody({ error }: ErrorToastBodyProps) {
  const { failure } = error;
  const applied = error.steps
    .filter((s) => s.status === "applied" || s.status === "rolled_back")
    .map((s) => s.migrationName);
  const skipped = error.steps.filter((s) => s.status === "skipped").map((s) => s.migrationName);
  return (
    <div className="space-y-1.5 text-xs" data-testid="toast-error-body">
      <p
        data-testid="error-message"
        className={`line-clamp-6 break-words ${failure ? "font-mono whitespace-pre-wrap" : ""}`}
      >
        {failure ? `ERROR: ${failure.message}` : error.message}
      </p>
      {failure?.code ? <p className="font-mono">SQLSTATE {failure.code}</p> : null}
      {failure?.detail ? <p className="break-words">Detail: {failure.detail}</p> : null}
      {error.hint ? (
        <p data-testid="error-hint" className="break-words">
          <span className="font-medium">What to do: </span>
          {error.hint}
        </p>
      ) : null}
      {applied.length > 0 ? <p>Done before the failure: {applied.join(", ")}.</p> : null}
      {skipped.length > 0 ? <p>Not attempted: {skipped.join(", ")}.</p> : null}
    </div>
  );
}
