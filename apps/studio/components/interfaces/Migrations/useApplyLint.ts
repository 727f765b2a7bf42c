import { skipToken, useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useTRPC } from "../../../utils/trpc";
import type { LintReport } from "./Migrations.types";
import { describeError, type ErrorView } from "./Migrations.utils";

/**
 * How long the confirmation waits for the lint before it lets the operator apply without it: the
 * lint is advice, and a lint that hangs (a catalog read stuck behind something) must not stand
 * between an operator and an apply.
 */
export const LINT_PATIENCE_MS = 15_000;

/** The lint of what a confirmed apply would run, as the confirmation shows it. */
export type ApplyLint =
  /** Nothing will run (not planned yet, or nothing pending): nothing to lint. */
  | { state: "none" }
  /** `slow`: it has taken longer than {@link LINT_PATIENCE_MS}; applying need not wait. */
  | { state: "linting"; slow: boolean }
  | { state: "linted"; report: LintReport }
  /** The lint could not run (no linter, a file it cannot read, the database): why. */
  | { state: "failed"; error: ErrorView };

/**
 * Lints exactly `migrationNames` — the migrations the apply's dry run said would run — with the
 * target's table sizes. Read afresh at every opening: the files or the tables may have changed.
 */
export function useApplyLint(migrationNames: readonly string[] | null): ApplyLint {
  const trpc = useTRPC();
  const names = migrationNames !== null && migrationNames.length > 0 ? [...migrationNames] : null;
  const lint = useQuery({
    ...trpc.migrations.lint.queryOptions(names ? { migrationNames: names } : skipToken),
    staleTime: 0,
    gcTime: 0,
    // A failure is shown at once (applying does not wait on it); the operator can reopen.
    retry: false,
    // What the operator reviews stays put while the dialog is open.
    refetchOnWindowFocus: false,
  });

  const key = names?.join("\n") ?? "";
  const [slow, setSlow] = useState(false);
  useEffect(() => {
    setSlow(false);
    if (key === "") return;
    const timer = window.setTimeout(() => setSlow(true), LINT_PATIENCE_MS);
    return () => window.clearTimeout(timer);
  }, [key]);

  if (names === null) return { state: "none" };
  if (lint.data) return { state: "linted", report: lint.data };
  if (lint.isError) return { state: "failed", error: describeError(lint.error, "The lint") };
  return { state: "linting", slow };
}
