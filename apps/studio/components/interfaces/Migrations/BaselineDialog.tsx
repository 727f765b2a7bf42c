import { Alert } from "../../ui/Alert";
import { Button } from "../../ui/Button";
import { DialogShell } from "../../ui/DialogShell";
import type { MigrationView, RunRequest, StatusReport } from "./Migrations.types";
import { plural } from "./Migrations.utils";

interface BaselineDialogProps {
  /** The migration to baseline up to (included); null closes the dialog. */
  target: MigrationView | null;
  report: StatusReport;
  actor: string | null;
  onCancel: () => void;
  onConfirm: (run: RunRequest) => void;
}

/**
 * "Baseline up to here" (SPEC §4 Baseline): for a database whose migrations were applied by hand,
 * records every pending migration up to this one as applied — running nothing.
 */
export function BaselineDialog({
  target,
  report,
  actor,
  onCancel,
  onConfirm,
}: BaselineDialogProps) {
  const recorded = target ? baselined(report, target.name) : [];
  const count = recorded.length;
  return (
    <DialogShell
      open={target !== null}
      onOpenChange={(open) => {
        if (!open) onCancel();
      }}
      data-testid="baseline-dialog"
      title={
        <>
          Baseline up to <span className="font-mono text-sm break-all">{target?.name}</span>
        </>
      }
      description={
        <>
          For a database where these migrations were already applied by hand: each is recorded as
          applied, with a baseline event, so that applies start after it.
          {actor ? (
            <>
              {" "}
              Recorded in the history as{" "}
              <span className="font-medium text-foreground">{actor}</span>.
            </>
          ) : null}
        </>
      }
      footer={
        <>
          <Button variant="default" onClick={onCancel} data-testid="baseline-cancel">
            Cancel
          </Button>
          <Button
            variant="warning"
            disabled={target === null || count === 0}
            onClick={() => {
              if (target === null) return;
              onConfirm({
                kind: "baseline",
                input: { upTo: target.name },
                names: recorded.map((m) => m.name),
              });
            }}
            data-testid="baseline-confirm"
          >
            Record {plural(count, "migration")} as applied
          </Button>
        </>
      }
    >
      <div className="space-y-3">
        <p
          data-testid="baseline-nothing-runs"
          className="rounded-md border border-border-default bg-surface-200 px-3 py-2 text-foreground-light"
        >
          <span className="font-medium text-foreground">Nothing runs.</span> No migration SQL is
          sent to the database and the schema is not checked or changed: only the record changes.
        </p>
        {count > 0 ? (
          <div className="space-y-1.5">
            <p className="text-xs text-foreground-lighter">
              {count === 1
                ? "This migration will be recorded as applied:"
                : `These ${count} migrations will be recorded as applied, in order:`}
            </p>
            <ul
              data-testid="baseline-list"
              className="max-h-56 overflow-y-auto rounded-md border border-border-default bg-canvas px-3 py-2 font-mono text-xs"
            >
              {recorded.map((m) => (
                <li key={m.name} className="truncate py-0.5 text-foreground" title={m.name}>
                  {m.name}
                </li>
              ))}
            </ul>
          </div>
        ) : (
          <p className="text-foreground-light">Everything up to here is already applied.</p>
        )}
        <Alert tone="warning" title="Only for migrations that really ran">
          A migration baselined but never applied is skipped for good: its changes will be missing
          and nothing will say so. Check the schema first.
        </Alert>
      </div>
    </DialogShell>
  );
}

/** What a baseline up to `upTo` records: each migration at or before it not applied, with a file. */
function baselined(report: StatusReport, upTo: string): MigrationView[] {
  const end = report.migrations.findIndex((m) => m.name === upTo);
  return report.migrations.slice(0, end + 1).filter((m) => m.state !== "applied" && !m.missing);
}
