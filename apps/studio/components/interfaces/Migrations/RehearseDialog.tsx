import { useMutation } from "@tanstack/react-query";
import { useEffect } from "react";
import { useTRPC } from "../../../utils/trpc";
import { Button } from "../../ui/Button";
import { DialogShell } from "../../ui/DialogShell";
import { Icon } from "../../ui/Icon";
import { Spinner } from "../../ui/Spinner";
import { Tag } from "../../ui/Tag";
import { ActionErrorAlert } from "./ActionErrorAlert";
import type { MigrationView, RehearseInput, RehearseTarget } from "./Migrations.types";
import { describeError, plural } from "./Migrations.utils";
import { RehearsalReportView } from "./RehearsalReportView";

interface RehearseDialogProps {
  /** What to rehearse; null closes the dialog. */
  target: RehearseTarget | null;
  /** The pending migrations it covers, as the list shows them now (the report is what ran). */
  scope: readonly MigrationView[];
  onClose: () => void;
  onViewSql: (migrationName: string) => void;
}

/**
 * "Rehearse" (SPEC §9): runs what an apply would run on the real database, in one transaction that
 * is rolled back, and shows each statement's time and the locks it took. It takes those locks on
 * live tables while it runs, so it starts only when the operator confirms, as an apply does.
 */
export function RehearseDialog({ target, scope, onClose, onViewSql }: RehearseDialogProps) {
  const trpc = useTRPC();
  const rehearsal = useMutation(trpc.migrations.rehearse.mutationOptions());
  const { reset } = rehearsal;

  useEffect(() => {
    // A new opening starts from the explanation, never from an earlier rehearsal's report.
    if (target !== null) reset();
  }, [target, reset]);

  const input: RehearseInput = target?.upTo
    ? { upTo: target.upTo, ...(target.allowOutOfOrder ? { allowOutOfOrder: true } : {}) }
    : {};
  const start = () => rehearsal.mutate(input);
  const transactional = scope.filter((m) => m.transactional).length;
  const report = rehearsal.data;

  return (
    <DialogShell
      open={target !== null}
      onOpenChange={(open) => {
        if (!open) onClose();
      }}
      size="large"
      data-testid="rehearse-dialog"
      title={
        target?.upTo ? (
          <>
            Rehearse up to <span className="font-mono text-sm break-all">{target.upTo}</span>
          </>
        ) : (
          "Rehearse the pending migrations"
        )
      }
      description="Runs them on the database in one transaction — each statement timed, the locks it takes read from pg_locks — then rolls it all back. Nothing is applied or recorded."
      footer={
        <>
          <Button variant="default" onClick={onClose} data-testid="rehearse-close">
            {report || rehearsal.isError ? "Close" : "Cancel"}
          </Button>
          <Button
            variant="primary"
            icon={<Icon name="flask" />}
            loading={rehearsal.isPending}
            disabled={target === null || (rehearsal.isIdle && transactional === 0)}
            onClick={start}
            data-testid="rehearse-start"
          >
            {rehearsal.isPending
              ? "Rehearsing…"
              : report || rehearsal.isError
                ? "Rehearse again"
                : `Rehearse ${plural(scope.length, "migration")}`}
          </Button>
        </>
      }
    >
      {rehearsal.isPending ? (
        <p
          data-testid="rehearse-running"
          className="flex items-center gap-2 py-6 text-foreground-light"
        >
          <Spinner />
          Running in a transaction on the database; it is rolled back at the end…
        </p>
      ) : rehearsal.isError ? (
        <ActionErrorAlert
          error={describeError(rehearsal.error, "The rehearsal")}
          data-testid="rehearse-error"
        />
      ) : report ? (
        <RehearsalReportView report={report} onViewSql={onViewSql} />
      ) : (
        <RehearseIntro scope={scope} />
      )}
    </DialogShell>
  );
}

/** Before it runs: what it will run, and what it does to live tables meanwhile. */
function RehearseIntro({ scope }: { scope: readonly MigrationView[] }) {
  return (
    <div data-testid="rehearse-intro" className="space-y-3">
      {scope.length === 0 ? (
        <p className="text-foreground-light">No migration is pending: there is nothing to run.</p>
      ) : scope.every((migration) => !migration.transactional) ? (
        <p data-testid="rehearse-none-possible" className="text-foreground-light">
          {scope.length === 1
            ? `${scope[0]?.name} runs outside a transaction: it cannot be rehearsed.`
            : "Each of these migrations runs outside a transaction: none can be rehearsed."}
        </p>
      ) : (
        <>
          <p className="text-xs text-foreground-lighter">
            {scope.length === 1 ? "It runs:" : "It runs, in this order:"}
          </p>
          <ul className="space-y-1">
            {scope.map((migration) => (
              <li key={migration.name} className="flex flex-wrap items-center gap-2">
                <span className="min-w-0 font-mono text-xs break-all text-foreground">
                  {migration.name}
                </span>
                {migration.transactional ? null : (
                  <Tag title="transaction:false: its statements each commit on their own, so they cannot be rolled back">
                    not rehearsable
                  </Tag>
                )}
              </li>
            ))}
          </ul>
        </>
      )}
      <p className="rounded-md border border-warning-border bg-warning-subtle px-3 py-2 text-xs leading-5 text-foreground-light">
        <span className="font-medium text-warning">It takes real locks. </span>
        While it runs it holds the locks an apply would — on a busy table, other sessions wait for
        it — bounded by the lock and statement timeouts. It holds the migrations' run lock too, so
        applies wait until it is done.
      </p>
    </div>
  );
}
