import { useQueryClient } from "@tanstack/react-query";
import { useSubscription } from "@trpc/tanstack-react-query";
import { useEffect, useState } from "react";
import { useTRPC } from "../../../utils/trpc";
import {
  changesState,
  FINISHED_RUN_SHOWN_MS,
  foldProgress,
  forgetFinished,
  type RunsState,
  type RunView,
  runToShow,
} from "./run-progress";

/**
 * Follows `migrations.progress` while the page is open: every run in this Studio process — the
 * operator's own, a colleague's, a CLI's through this Studio — as it happens; and refreshes the
 * list and history as each migration finishes, without waiting for the next poll.
 */
export function useRunProgress(): RunView | null {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [runs, setRuns] = useState<RunsState>(() => new Map());

  useSubscription(
    trpc.migrations.progress.subscriptionOptions(
      {},
      {
        onData: (tracked) => {
          const event = tracked.data;
          setRuns((previous) => foldProgress(previous, event, Date.now()));
          if (changesState(event)) {
            void queryClient.invalidateQueries(trpc.migrations.list.pathFilter());
            void queryClient.invalidateQueries(trpc.migrations.history.pathFilter());
          }
        },
      },
    ),
  );

  const finished = [...runs.values()].some((run) => run.finishedAt !== null);
  useEffect(() => {
    if (!finished) return;
    const timer = window.setInterval(
      () => setRuns((previous) => forgetFinished(previous, Date.now())),
      FINISHED_RUN_SHOWN_MS / 4,
    );
    return () => window.clearInterval(timer);
  }, [finished]);

  return runToShow(runs);
}
