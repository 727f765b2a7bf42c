import { useMutation, useQueryClient } from "@tanstack/react-query";
import { createElement, useCallback, useEffect, useRef, useState } from "react";
import { toast } from "sonner";
import { httpStatusOf, useTRPC } from "../../../utils/trpc";
import { ErrorToastBody } from "./ErrorToastBody";
import type { BusyState, RecentOutcome, RunRequest } from "./Migrations.types";
import {
  describeError,
  summariseAdopt,
  summariseApply,
  summariseBaseline,
  summariseResolve,
  summariseRollback,
} from "./Migrations.utils";

const VERBS: Record<RunRequest["kind"], string> = {
  apply: "Applying…",
  rollback: "Rolling back…",
  resolve: "Resolving…",
  adopt: "Adopting…",
  baseline: "Baselining…",
};

const ACTION_NAMES: Record<RunRequest["kind"], string> = {
  apply: "Apply",
  rollback: "Rollback",
  resolve: "Resolve",
  adopt: "Adopt",
  baseline: "Baseline",
};

/** How long a row keeps saying what was just done to it. */
export const RECENT_OUTCOME_MS = 8_000;

interface Settled {
  title: string;
  detail: string | null;
  /** The rows it changed. */
  names: string[];
}

/**
 * Runs confirmed changes, one at a time: which rows are busy meanwhile; what came of it, as a
 * toast (seen wherever the operator has scrolled) and on the rows concerned for a few seconds;
 * and a fresh `list`, `history` and SQL once it settles, whatever the outcome.
 */
export function useMigrationActions() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [busy, setBusy] = useState<BusyState | null>(null);
  const [recent, setRecent] = useState<ReadonlyMap<string, RecentOutcome>>(() => new Map());
  const timers = useRef(new Set<number>());

  useEffect(() => {
    const pending = timers.current;
    return () => {
      for (const timer of pending) window.clearTimeout(timer);
    };
  }, []);

  const mark = useCallback((names: readonly string[], outcome: RecentOutcome["outcome"]) => {
    if (names.length === 0) return;
    const at = Date.now();
    setRecent((previous) => {
      const next = new Map(previous);
      for (const name of names) next.set(name, { outcome, at });
      return next;
    });
    const timer = window.setTimeout(() => {
      timers.current.delete(timer);
      setRecent((previous) => {
        const next = new Map(previous);
        for (const name of names) if (next.get(name)?.at === at) next.delete(name);
        return next;
      });
    }, RECENT_OUTCOME_MS);
    timers.current.add(timer);
  }, []);

  const apply = useMutation(trpc.migrations.apply.mutationOptions());
  const rollback = useMutation(trpc.migrations.rollback.mutationOptions());
  const resolve = useMutation(trpc.migrations.resolve.mutationOptions());
  const adopt = useMutation(trpc.migrations.adopt.mutationOptions());
  const baseline = useMutation(trpc.migrations.baseline.mutationOptions());

  const perform = async (request: RunRequest): Promise<Settled> => {
    switch (request.kind) {
      case "apply": {
        const report = await apply.mutateAsync(request.input);
        const done = report.results.filter((r) => r.status === "applied");
        return { ...summariseApply(report), names: done.map((r) => r.migrationName) };
      }
      case "rollback": {
        const report = await rollback.mutateAsync(request.input);
        const names =
          "results" in report
            ? report.results
                .filter((r) => r.status === "rolled_back" || r.status === "marked_rolled_back")
                .map((r) => r.migrationName)
            : [report.migrationName];
        return { ...summariseRollback(report), names };
      }
      case "resolve": {
        const report = await resolve.mutateAsync(request.input);
        return { ...summariseResolve(report), names: [report.migrationName] };
      }
      case "adopt": {
        const report = await adopt.mutateAsync(request.input);
        const names = report.results
          .filter((r) => r.status === "adopted" && r.migrationName !== null)
          .map((r) => r.migrationName as string);
        return { ...summariseAdopt(report), names };
      }
      case "baseline": {
        const report = await baseline.mutateAsync(request.input);
        const names = report.results
          .filter((r) => r.status === "baselined")
          .map((r) => r.migrationName);
        return { ...summariseBaseline(report), names };
      }
    }
  };

  const run = (request: RunRequest) => {
    if (busy !== null) return;
    setBusy({
      verb: VERBS[request.kind],
      names: new Set(request.names),
      all: request.kind === "apply" && "upTo" in request.input,
    });
    perform(request)
      .then((settled) => {
        toast.success(settled.title, {
          description: settled.detail,
          testId: "toast-success",
        });
        mark(settled.names, "succeeded");
      })
      .catch((error: unknown) => {
        // An expired session is handled by sending the operator to sign in, not as an outcome.
        if (httpStatusOf(error) === 401) return;
        const view = describeError(error, ACTION_NAMES[request.kind]);
        toast.error(view.title, {
          description: createElement(ErrorToastBody, { error: view }),
          // A failure stays until read and closed: its message is what the operator acts on.
          duration: Number.POSITIVE_INFINITY,
          testId: "toast-error",
        });
        mark(view.migrationName ? [view.migrationName] : request.names, "failed");
      })
      .finally(() => {
        // Whatever happened, show the state as it is now, at once (not at the next poll).
        void queryClient.invalidateQueries(trpc.migrations.pathFilter()).finally(() => {
          setBusy(null);
        });
      });
  };

  return { busy, recent, run };
}
