import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTRPC } from "../../../utils/trpc";
import { useSession } from "../../auth/session";
import { Alert } from "../../ui/Alert";
import { Button } from "../../ui/Button";
import { Icon } from "../../ui/Icon";
import { ActionErrorAlert } from "./ActionErrorAlert";
import { AdoptDialog } from "./AdoptDialog";
import { ConfirmDialog } from "./ConfirmDialog";
import { HistoryPanel } from "./HistoryPanel";
import type { MigrationView, PlannedAction, Resolution } from "./Migrations.types";
import { describeError } from "./Migrations.utils";
import { MigrationsEmptyState } from "./MigrationsEmptyState";
import { MigrationsSkeleton } from "./MigrationsSkeleton";
import { MigrationsSummary } from "./MigrationsSummary";
import { MigrationsTable } from "./MigrationsTable";
import { ProblemsBanner } from "./ProblemsBanner";
import { SqlDialog } from "./SqlDialog";
import { useMigrationActions } from "./useMigrationActions";

/**
 * Database › Migrations: what is applied and pending, what is wrong, and the changes an operator
 * can make (each confirmed against its dry run), with the audit trail below.
 */
export function Migrations() {
  const trpc = useTRPC();
  const session = useSession();
  const list = useQuery(trpc.migrations.list.queryOptions());
  const { busy, outcome, run, dismissOutcome } = useMigrationActions();
  const [sqlView, setSqlView] = useState<MigrationView | null>(null);
  const [planned, setPlanned] = useState<PlannedAction | null>(null);
  const [adopting, setAdopting] = useState(false);

  const report = list.data;
  const applyBlocked = report?.problems.some((p) => p.blocking) ?? false;
  const pendingCount = report?.pending.length ?? 0;

  const dismiss = (
    <Button variant="ghost" onClick={dismissOutcome} data-testid="dismiss-outcome">
      Dismiss
    </Button>
  );

  const onApply = (view: MigrationView) =>
    setPlanned({
      kind: "apply",
      migrationName: view.name,
      transactional: view.transactional,
      allowOutOfOrder: view.outOfOrder,
    });
  const onRollback = (view: MigrationView) =>
    setPlanned({ kind: "rollback", migrationName: view.name, markOnly: !view.hasDown });
  const onRollbackTo = (view: MigrationView, count: number) =>
    setPlanned({ kind: "rollback-to", migrationName: view.name, count });
  const onResolve = (migrationName: string, as: Resolution) =>
    setPlanned({ kind: "resolve", migrationName, as });

  return (
    <div className="mx-auto w-full max-w-[1200px] space-y-6 px-4 py-6 md:px-6 md:py-8">
      <div className="flex flex-wrap items-start justify-between gap-4">
        <div className="min-w-0">
          <h1 className="text-xl font-medium text-foreground">Migrations</h1>
          <p className="mt-1 max-w-2xl text-sm text-foreground-light">
            Schema changes to the platform database, applied in order, each recorded with who ran it
            and when.
          </p>
        </div>
        <div className="flex flex-wrap items-center gap-2">
          <Button
            variant="ghost"
            icon={<Icon name="refresh" />}
            onClick={() => void list.refetch()}
            disabled={list.isFetching || busy !== null}
            data-testid="refresh"
          >
            Refresh
          </Button>
          <Button
            variant="ghost"
            icon={<Icon name="history" />}
            onClick={() => setAdopting(true)}
            disabled={!report || report.migrations.length === 0 || busy !== null}
            data-testid="adopt-open"
            title="Adopt history from dbmate / Supabase CLI: record what that tool applied, without running it"
          >
            Adopt history…
          </Button>
          <Button
            variant="primary"
            icon={<Icon name="play" />}
            loading={busy?.all === true}
            disabled={!report || pendingCount === 0 || applyBlocked || busy !== null}
            onClick={() => setPlanned({ kind: "apply-all", count: pendingCount })}
            data-testid="apply-all"
          >
            {busy?.all ? "Applying…" : `Apply all pending (${pendingCount})`}
          </Button>
        </div>
      </div>

      {/* Announces the work in progress; the rows show it visually. */}
      <p role="status" className="sr-only">
        {busy ? `${busy.verb} ${[...busy.names].join(", ")}` : ""}
      </p>

      {outcome?.kind === "success" ? (
        <Alert
          tone="success"
          role="status"
          data-testid="action-result"
          title={outcome.title}
          actions={dismiss}
        >
          {outcome.detail}
        </Alert>
      ) : outcome?.kind === "error" ? (
        <ActionErrorAlert error={describeError(outcome.error, outcome.action)} actions={dismiss} />
      ) : null}

      {list.isPending ? (
        <MigrationsSkeleton />
      ) : list.isError && !report ? (
        <Alert
          tone="danger"
          role="alert"
          data-testid="list-error"
          title="The migrations could not be loaded"
          actions={
            <Button onClick={() => void list.refetch()} icon={<Icon name="refresh" />}>
              Try again
            </Button>
          }
        >
          {describeError(list.error, "Loading the migrations").message}
        </Alert>
      ) : report ? (
        <>
          <MigrationsSummary report={report} />
          <ProblemsBanner problems={report.problems} locked={busy !== null} onResolve={onResolve} />
          {report.migrations.length === 0 ? (
            <MigrationsEmptyState />
          ) : (
            <section aria-labelledby="migrations-heading" className="space-y-3">
              <div className="flex flex-wrap items-baseline justify-between gap-x-4 gap-y-1">
                <h2 id="migrations-heading" className="text-base font-medium text-foreground">
                  All migrations
                </h2>
                <p data-testid="apply-note" className="text-xs text-foreground-lighter">
                  {applyBlocked && pendingCount > 0
                    ? "Applies are blocked until the problems above are resolved."
                    : pendingCount > 1
                      ? "Pending migrations apply in order: only the first can be applied on its own."
                      : pendingCount === 0
                        ? "Up to date: nothing is pending."
                        : "One migration is pending."}
                </p>
              </div>
              <MigrationsTable
                report={report}
                busy={busy}
                applyBlocked={applyBlocked}
                onViewSql={setSqlView}
                onApply={onApply}
                onRollback={onRollback}
                onRollbackTo={onRollbackTo}
              />
            </section>
          )}
          <HistoryPanel migrationNames={report.migrations.map((m) => m.name)} />
        </>
      ) : null}

      <SqlDialog view={sqlView} onClose={() => setSqlView(null)} />
      <AdoptDialog
        open={adopting}
        actor={session.data?.actor ?? null}
        onCancel={() => setAdopting(false)}
        onConfirm={(request) => {
          setAdopting(false);
          run(request);
        }}
      />
      <ConfirmDialog
        action={planned}
        actor={session.data?.actor ?? null}
        onCancel={() => setPlanned(null)}
        onConfirm={(request) => {
          setPlanned(null);
          run(request);
        }}
      />
    </div>
  );
}
