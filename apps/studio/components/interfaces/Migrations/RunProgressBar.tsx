import { useEffect, useState } from "react";
import { Icon } from "../../ui/Icon";
import { Spinner } from "../../ui/Spinner";
import { formatDuration } from "./Migrations.utils";
import type { RunView } from "./run-progress";

interface RunProgressBarProps {
  run: RunView | null;
}

const VERBS = { apply: "Applying", rollback: "Rolling back" } as const;
const DONE = { apply: "Applied", rollback: "Rolled back" } as const;

/**
 * A run's progress over the page, in view wherever the operator has scrolled: n of total, the
 * migration running and for how long; then how it ended, for a few seconds.
 */
export function RunProgressBar({ run }: RunProgressBarProps) {
  const running = run !== null && run.outcome === null;
  const now = useNow(running ? 250 : null);
  // A sticky shelf of no height, always there: the bar floats over the page from it, so that its
  // coming and going never moves the rows under the operator's pointer.
  return (
    <div className="sticky top-14 z-20 mb-0 h-0">
      {run ? <Bar run={run} now={now} running={running} /> : null}
    </div>
  );
}

function Bar({ run, now, running }: { run: RunView; now: number; running: boolean }) {
  const { current } = run;
  const failed = run.outcome === "failed" || run.outcome === "error";
  const share = run.total === 0 ? 1 : run.completed / run.total;
  return (
    <div
      role="status"
      data-testid="run-progress"
      data-outcome={run.outcome ?? "running"}
      className={`absolute inset-x-0 top-0 rounded-md border px-4 py-2.5 text-sm shadow-lg shadow-black/40 ${failed ? "border-destructive-border bg-destructive-subtle" : "border-brand/30 bg-[#13231b]"}`}
    >
      <div className="flex flex-wrap items-center gap-x-2 gap-y-1">
        {running ? (
          <Spinner className="size-3.5 text-brand" />
        ) : (
          <Icon
            name={failed ? "x" : "check"}
            className={`size-3.5 ${failed ? "text-destructive" : "text-brand"}`}
          />
        )}
        <span className="font-medium text-foreground" data-testid="run-progress-count">
          {running
            ? `${VERBS[run.kind]} ${Math.min(run.completed + 1, run.total)} of ${run.total}`
            : failed
              ? `${run.failedMigration ? `${run.failedMigration} failed` : "The run stopped"}: ${run.completed} of ${run.total} done`
              : `${DONE[run.kind]} ${run.completed} of ${run.total}`}
        </span>
        {running && current ? (
          <>
            <span
              className="max-w-[min(32rem,60vw)] truncate font-mono text-xs text-foreground-light"
              title={current.migrationName}
              data-testid="run-progress-migration"
            >
              {current.migrationName}
            </span>
            <span
              className="text-xs text-foreground-lighter tabular-nums"
              data-testid="run-progress-elapsed"
            >
              {formatDuration(Math.max(0, now - current.startedAt))}
            </span>
          </>
        ) : null}
        {run.outcome === "error" && run.error ? (
          <span className="text-xs break-words text-destructive">{run.error}</span>
        ) : null}
      </div>
      <div
        role="progressbar"
        aria-label={`${VERBS[run.kind]} migrations`}
        aria-valuemin={0}
        aria-valuemax={run.total}
        aria-valuenow={run.completed}
        className="mt-2 h-1 overflow-hidden rounded-full bg-surface-300"
      >
        <div
          className={`h-full rounded-full transition-[width] duration-300 ${failed ? "bg-destructive" : "bg-brand"}`}
          style={{ width: `${Math.round(share * 100)}%` }}
        />
      </div>
    </div>
  );
}

/** The time now, ticking every `intervalMs` (not at all with null). */
function useNow(intervalMs: number | null): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (intervalMs === null) return;
    setNow(Date.now());
    const timer = window.setInterval(() => setNow(Date.now()), intervalMs);
    return () => window.clearInterval(timer);
  }, [intervalMs]);
  return now;
}
