import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { httpStatusOf, useTRPC } from "../../../utils/trpc";
import type { ActionOutcome, BusyState, RunRequest } from "./Migrations.types";
import { summariseAdopt, summariseApply, summariseRollback } from "./Migrations.utils";

const VERBS: Record<RunRequest["kind"], string> = {
  apply: "Applying…",
  rollback: "Rolling back…",
  resolve: "Resolving…",
  adopt: "Adopting…",
};

const ACTION_NAMES: Record<RunRequest["kind"], string> = {
  apply: "Apply",
  rollback: "Rollback",
  resolve: "Resolve",
  adopt: "Adopt",
};

/**
 * Runs confirmed changes, one at a time: which rows are busy meanwhile, what came of it, and a
 * fresh `list` and `history` once it settles, whatever the outcome.
 */
export function useMigrationActions() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [busy, setBusy] = useState<BusyState | null>(null);
  const [outcome, setOutcome] = useState<ActionOutcome | null>(null);

  const settle = async () => {
    await queryClient.invalidateQueries(trpc.migrations.pathFilter());
    setBusy(null);
  };
  const fail = (kind: RunRequest["kind"]) => (error: unknown) => {
    // An expired session is handled by sending the operator to sign in, not as an outcome.
    if (httpStatusOf(error) === 401) return;
    setOutcome({ kind: "error", error, action: ACTION_NAMES[kind] });
  };

  const apply = useMutation(
    trpc.migrations.apply.mutationOptions({
      onSuccess: (report) => setOutcome({ kind: "success", ...summariseApply(report) }),
      onError: fail("apply"),
      onSettled: settle,
    }),
  );
  const rollback = useMutation(
    trpc.migrations.rollback.mutationOptions({
      onSuccess: (report) => setOutcome({ kind: "success", ...summariseRollback(report) }),
      onError: fail("rollback"),
      onSettled: settle,
    }),
  );
  const resolve = useMutation(
    trpc.migrations.resolve.mutationOptions({
      onSuccess: (report) =>
        setOutcome({
          kind: "success",
          title: `Resolved ${report.migrationName}`,
          detail: `${report.before.replaceAll("_", " ")} → ${report.after.replaceAll("_", " ")}`,
        }),
      onError: fail("resolve"),
      onSettled: settle,
    }),
  );

  const adopt = useMutation(
    trpc.migrations.adopt.mutationOptions({
      onSuccess: (report) => setOutcome({ kind: "success", ...summariseAdopt(report) }),
      onError: fail("adopt"),
      onSettled: settle,
    }),
  );

  const run = (request: RunRequest) => {
    if (busy !== null) return;
    setOutcome(null);
    setBusy({
      verb: VERBS[request.kind],
      names: new Set(request.names),
      all: request.kind === "apply" && "upTo" in request.input,
    });
    switch (request.kind) {
      case "apply":
        apply.mutate(request.input);
        break;
      case "rollback":
        rollback.mutate(request.input);
        break;
      case "resolve":
        resolve.mutate(request.input);
        break;
      case "adopt":
        adopt.mutate(request.input);
        break;
    }
  };

  return { busy, outcome, run, dismissOutcome: () => setOutcome(null) };
}
