import { useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTRPC } from "../../../utils/trpc";
import { useSession } from "../../auth/session";
import { Alert } from "../../ui/Alert";
import { Button } from "../../ui/Button";
import { Icon } from "../../ui/Icon";
import { AdoptDialog } from "./AdoptDialog";
import { BaselineDialog } from "./BaselineDialog";
import { ConfirmDialog } from "./ConfirmDialog";
import { HistoryPanel } from "./HistoryPanel";
import { LiveStatus } from "./LiveStatus";
import type {
  MigrationView,
  PlannedAction,
  RehearseTarget,
  Resolution,
  StatusReport,
} from "./Migrations.types";
import { applyNote, describeError } from "./Migrations.utils";
import { MigrationsEmptyState } from "./MigrationsEmptyState";
import { MigrationsSkeleton } from "./MigrationsSkeleton";
import { MigrationsSummary } from "./MigrationsSummary";
import { countAppliedAfter, MigrationsTable } from "./MigrationsTable";
import { ProblemsBanner } from "./ProblemsBanner";
import { RehearseDialog } from "./RehearseDialog";
import type { RowActionHandlers } from "./RowActions";
import { RunProgressBar } from "./RunProgressBar";
import { SqlDialog, type SqlDialogTarget } from "./SqlDialog";
import { StaleBanner } from "./StaleBanner";
import { freshnessOf, useLiveMigrations } from "./useLiveMigrations";
import { useMigrationActions } from "./useMigrationActions";
import { useRunProgress } from "./useRunProgress";

/**
 * Database › Migrations: what is applied and pending, what is wrong, and the changes an operator
 * can make (each confirmed against its dry run), with the audit trail below. The list keeps itself
 * current and says so when it cannot.
 */
export function Migrations() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const session = useSession();
  const list = useLiveMigrations();
  const freshness = freshnessOf(list);
  const { busy, recent, run } = useMigrationActions();
  const progress = useRunProgress();
  const [sqlTarget, setSqlTarget] = useState<SqlDialogTarget | null>(null);
  const [planned, setPlanned] = useState<PlannedAction | null>(null);
  const [adopting, setAdopting] = useState(false);
  const [baselineName, setBaselineName] = useState<string | null>(null);
  const [rehearsing, setRehearsing] = useState<RehearseTarget | null>(null);
  // Only a refresh the operator asked for shows as one: the background polls stay quiet.
  const [refreshing, setRefreshing] = useState(false);
  const refresh = () => {
    setRefreshing(true);
    void Promise.all([
      list.refetch(),
      queryClient.invalidateQueries(trpc.migrations.history.pathFilter()),
    ]).finally(() => setRefreshing(false));
  };

  const report = list.data;
  const applyBlocked = report?.problems.some((p) => p.blocking) ?? false;
  const pendingCount = report?.pending.length ?? 0;
  const actor = session.data?.actor ?? null;
  const viewOf = (name: string) => report?.migrations.find((m) => m.name === name) ?? null;
  const baselineTarget = baselineName === null ? null : viewOf(baselineName);

  const handlers: RowActionHandlers = {
    onViewSql: (view, tab) => setSqlTarget(tab ? { view, tab } : { view }),
    onApply: (view) =>
      setPlanned({
        kind: "apply",
        migrationName: view.name,
        transactional: view.transactional,
        allowOutOfOrder: view.outOfOrder,
      }),
    onRollback: (view) =>
      setPlanned({ kind: "rollback", migrationName: view.name, markOnly: !view.hasDown }),
    onRollbackTo: (view: MigrationView) =>
      setPlanned({
        kind: "rollback-to",
        migrationName: view.name,
        count: countAppliedAfter(report?.applied ?? []).get(view.name) ?? 0,
      }),
    onBaseline: (view) => setBaselineName(view.name),
    onRehearse: (view) => setRehearsing({ upTo: view.name, allowOutOfOrder: view.outOfOrder }),
  };
  const onResolve = (migrationName: string, as: Resolution) =>
    setPlanned({ kind: "resolve", migrationName, as });
  const onReviewDrift = (migrationName: string) => {
    const view = viewOf(migrationName);
    if (view) setSqlTarget({ view, tab: "changes" });
  };

  return (
    <div className="mx-auto w-full max-w-[1400px] space-y-6 px-4 py-6 md:px-6 md:py-8">
      <div className="flex flex-wrap items-start justify-between gap-4">
        <div className="min-w-0">
          <h1 className="text-xl font-medium text-foreground">Migrations</h1>
          <p className="mt-1 max-w-2xl text-sm text-foreground-light">
            Schema changes to the platform database, applied in order, each recorded with who ran it
            and when.
          </p>
          {report ? (
            <div className="mt-2">
              <LiveStatus freshness={freshness} />
            </div>
          ) : null}
        </div>
        <div className="flex flex-wrap items-center gap-2">
          <Button
            variant="ghost"
            icon={<Icon name="refresh" />}
            loading={refreshing}
            onClick={refresh}
            disabled={busy !== null}
            data-testid="refresh"
          >
            {refreshing ? "Refreshing…" : "Refresh"}
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
            variant="default"
            icon={<Icon name="flask" />}
            disabled={!report || pendingCount === 0 || applyBlocked || busy !== null}
            onClick={() => setRehearsing({ upTo: null, allowOutOfOrder: false })}
            data-testid="rehearse-all"
            title="Run the pending migrations in a transaction that is rolled back: each statement's time and locks"
          >
            Rehearse
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

      {/* Announces the work in progress; the rows show it visually, the toasts its outcome. */}
      <p role="status" className="sr-only">
        {busy ? `${busy.verb} ${[...busy.names].join(", ")}` : ""}
      </p>

      <RunProgressBar run={progress} />

      {list.isPending ? (
        <MigrationsSkeleton />
      ) : list.isError && !report ? (
        <Alert
          tone="danger"
          role="alert"
          data-testid="list-error"
          title="The migrations could not be loaded"
          actions={
            <Button onClick={refresh} loading={refreshing} icon={<Icon name="refresh" />}>
              Try again
            </Button>
          }
        >
          {describeError(list.error, "Loading the migrations").message}
        </Alert>
      ) : report ? (
        <>
          <StaleBanner freshness={freshness} onRetry={refresh} />
          <div
            data-testid="migrations-state"
            data-stale={freshness.stale ? "true" : "false"}
            className={`space-y-6 transition-opacity ${freshness.stale ? "opacity-60" : ""}`}
          >
            <MigrationsSummary report={report} />
            <ProblemsBanner
              problems={report.problems}
              locked={busy !== null}
              onResolve={onResolve}
              onReviewDrift={onReviewDrift}
            />
            {report.migrations.length === 0 ? (
              <MigrationsEmptyState />
            ) : (
              <section aria-labelledby="migrations-heading" className="space-y-3">
                <div className="flex flex-wrap items-baseline justify-between gap-x-4 gap-y-1">
                  <h2 id="migrations-heading" className="text-base font-medium text-foreground">
                    All migrations
                  </h2>
                  <p data-testid="apply-note" className="text-xs text-foreground-lighter">
                    {applyNote(report, freshness.stale)}
                  </p>
                </div>
                <MigrationsTable
                  report={report}
                  busy={busy}
                  recent={recent}
                  applyBlocked={applyBlocked}
                  handlers={handlers}
                />
              </section>
            )}
          </div>
          <HistoryPanel migrationNames={report.migrations.map((m) => m.name)} />
        </>
      ) : null}

      <SqlDialog target={sqlTarget} onClose={() => setSqlTarget(null)} />
      {report ? (
        <BaselineDialog
          target={baselineTarget}
          report={report}
          actor={actor}
          onCancel={() => setBaselineName(null)}
          onConfirm={(request) => {
            setBaselineName(null);
            run(request);
          }}
        />
      ) : null}
      <AdoptDialog
        open={adopting}
        actor={actor}
        onCancel={() => setAdopting(false)}
        onConfirm={(request) => {
          setAdopting(false);
          run(request);
        }}
      />
      <RehearseDialog
        target={rehearsing}
        scope={report && rehearsing ? rehearsalScope(report, rehearsing) : []}
        onClose={() => setRehearsing(null)}
        onViewSql={(name) => {
          const view = viewOf(name);
          if (view) setSqlTarget({ view, tab: "up" });
        }}
      />
      <ConfirmDialog
        action={planned}
        actor={actor}
        onCancel={() => setPlanned(null)}
        onConfirm={(request) => {
          setPlanned(null);
          run(request);
        }}
      />
    </div>
  );
}

/** The pending migrations a rehearsal covers, as the list shows them: all, or up to its target. */
function rehearsalScope(report: StatusReport, target: RehearseTarget): MigrationView[] {
  if (target.upTo === null) return report.pending;
  const end = report.pending.findIndex((view) => view.name === target.upTo);
  return end === -1 ? [] : report.pending.slice(0, end + 1);
}
