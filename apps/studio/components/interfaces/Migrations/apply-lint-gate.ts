import type { ButtonVariant } from "../../ui/Button";
import { plural } from "./Migrations.utils";
import type { ApplyLint } from "./useApplyLint";

/**
 * What the apply confirmation's button does, given the lint of what it would run. The lint
 * advises; it never stands in the way:
 *
 * - no error-level finding: the usual button, and the apply is sent **strict** — linted again when
 *   it starts, so an error that appears in between (a file edited after this review) stops it
 *   before anything runs;
 * - error-level findings: the button says that it applies despite them, and applies as asked;
 * - the lint failed, or is slow: the button says that it applies without the lint.
 */
export interface ApplyLintGate {
  /** Send the apply with `strict: true`. */
  strict: boolean;
  /** Still waiting for the lint (for less than `LINT_PATIENCE_MS`): the button waits too. */
  waiting: boolean;
  /** The button's label in place of the usual one; null: the usual one. */
  label: string | null;
  /** The button's look in place of the usual one; null: the usual one. */
  variant: ButtonVariant | null;
  /**
   * One sentence under the findings, where they do not already say what pressing the button does
   * (they do for errors, and for a failed or slow lint).
   */
  note: string | null;
}

export function applyLintGate(lint: ApplyLint): ApplyLintGate {
  switch (lint.state) {
    case "none":
      return { strict: false, waiting: false, label: null, variant: null, note: null };
    case "linting":
      return lint.slow
        ? {
            strict: false,
            waiting: false,
            label: "Apply without lint",
            variant: "warning",
            note: null,
          }
        : { strict: false, waiting: true, label: "Linting…", variant: null, note: null };
    case "failed":
      return {
        strict: false,
        waiting: false,
        label: "Apply without lint",
        variant: "warning",
        note: null,
      };
    case "linted": {
      const { errors } = lint.report;
      if (errors > 0) {
        return {
          strict: false,
          waiting: false,
          label: `Apply despite ${plural(errors, "lint error")}`,
          variant: "danger",
          note: null,
        };
      }
      return {
        strict: true,
        waiting: false,
        label: null,
        variant: null,
        note: "The apply is strict: it lints again as it starts and runs nothing if an error-level finding has appeared since (a file edited after this review).",
      };
    }
  }
}
