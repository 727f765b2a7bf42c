import { useMutation } from "@tanstack/react-query";
import { type ReactNode, useEffect } from "react";
import { useTRPC } from "../../../utils/trpc";
import { Alert } from "../../ui/Alert";
import { Button, type ButtonVariant } from "../../ui/Button";
import { CodeBlock } from "../../ui/CodeBlock";
import { DialogShell } from "../../ui/DialogShell";
import { Spinner } from "../../ui/Spinner";
import { Tag } from "../../ui/Tag";
import { ActionErrorAlert } from "./ActionErrorAlert";
import { applyLintGate } from "./apply-lint-gate";
import { DriftReview } from "./DriftReview";
import { LintFindings } from "./LintFindings";
import type {
  ApplyInput,
  ApplyReport,
  PlannedAction,
  Resolution,
  RollbackOutput,
  RunRequest,
} from "./Migrations.types";
import { describeError, plural, RESOLUTION_LABELS } from "./Migrations.utils";
import { useApplyLint } from "./useApplyLint";

interface ConfirmDialogProps {
  /** What the operator asked for; null closes the dialog. */
  action: PlannedAction | null;
  actor: string | null;
  onCancel: () => void;
  onConfirm: (run: RunRequest) => void;
}

interface SqlStep {
  name: string;
  sql: string;
  transactional: boolean;
}

/** What a confirmed action will do, from its dry run; `run` is null while it cannot go ahead. */
interface Preview {
  steps: SqlStep[];
  /** Shown instead of SQL: "No SQL runs", "already applied". */
  note: string | null;
  run: RunRequest | null;
}

const RESOLVE_DESCRIPTIONS: Record<Resolution, string> = {
  applied:
    "Records it as applied without running it: for a migration whose changes were finished by hand, or that was applied by hand and never recorded.",
  rolled_back:
    "Records it as rolled back without running anything: for a migration whose partial changes were undone by hand. It becomes pending, to run again.",
  accept_checksum:
    "Records the file's current checksum as the applied one: for an edit after applying that changed nothing that matters (comments, formatting).",
};

/**
 * Every change goes through here: apply and rollback first run as a dry run, and the dialog shows
 * the exact SQL that the confirmed run will execute — for an apply, with the lint's findings on
 * exactly those migrations (SPEC §9); resolve says what it will record.
 */
export function ConfirmDialog({ action, actor, onCancel, onConfirm }: ConfirmDialogProps) {
  const trpc = useTRPC();
  const applyPlan = useMutation(trpc.migrations.apply.mutationOptions());
  const rollbackPlan = useMutation(trpc.migrations.rollback.mutationOptions());
  const { mutate: planApply, reset: resetApply } = applyPlan;
  const { mutate: planRollback, reset: resetRollback } = rollbackPlan;

  useEffect(() => {
    resetApply();
    resetRollback();
    if (action === null) return;
    switch (action.kind) {
      case "apply":
        planApply({
          migrationName: action.migrationName,
          dryRun: true,
          ...(action.allowOutOfOrder ? { allowOutOfOrder: true } : {}),
        });
        break;
      case "apply-all":
        planApply({ dryRun: true });
        break;
      case "rollback":
        planRollback({
          migrationName: action.migrationName,
          dryRun: true,
          ...(action.markOnly ? { markOnly: true } : {}),
        });
        break;
      case "rollback-to":
        planRollback({ to: action.migrationName, dryRun: true });
        break;
      case "resolve":
        break;
    }
  }, [action, planApply, planRollback, resetApply, resetRollback]);

  const lint = useApplyLint(wouldApply(action, applyPlan.data, applyPlan.variables));

  if (action === null) {
    return <DialogShell open={false} onOpenChange={onCancel} title="" description="" />;
  }

  const plan =
    action.kind === "rollback" || action.kind === "rollback-to" ? rollbackPlan : applyPlan;
  const planning = action.kind !== "resolve" && (plan.isPending || plan.isIdle);
  const planError = action.kind !== "resolve" ? plan.error : null;
  const preview = previewOf(action, applyPlan.data, rollbackPlan.data);
  const copy = describe(action, preview);
  const gate = applyLintGate(lint);
  const recordedAs = actor ? (
    <>
      {" "}
      Recorded in the history as <span className="font-medium text-foreground">{actor}</span>.
    </>
  ) : null;

  return (
    <DialogShell
      open
      onOpenChange={(open) => {
        if (!open) onCancel();
      }}
      size="large"
      data-testid="confirm-dialog"
      title={copy.title}
      description={
        <>
          {copy.description}
          {recordedAs}
        </>
      }
      footer={
        <>
          <Button variant="default" onClick={onCancel} data-testid="confirm-cancel">
            Cancel
          </Button>
          <Button
            variant={gate.variant ?? copy.variant}
            disabled={planning || planError !== null || preview.run === null || gate.waiting}
            onClick={() => {
              if (preview.run) onConfirm(gate.strict ? strictly(preview.run) : preview.run);
            }}
            data-testid="confirm-button"
            data-strict={gate.strict ? "true" : undefined}
          >
            {gate.label ?? copy.confirmLabel}
          </Button>
        </>
      }
    >
      <div className="space-y-3">
        {copy.warning ? (
          <Alert tone="warning" title={copy.warning.title}>
            {copy.warning.body}
          </Alert>
        ) : null}
        {action.kind === "resolve" && action.as === "accept_checksum" ? (
          <DriftReview migrationName={action.migrationName} />
        ) : null}
        {planning ? (
          <p
            data-testid="confirm-loading"
            className="flex items-center gap-2 py-6 text-foreground-light"
          >
            <Spinner />
            Working out exactly what will run (dry run)…
          </p>
        ) : planError ? (
          <ActionErrorAlert
            error={describeError(planError, "The dry run")}
            data-testid="confirm-error"
          />
        ) : preview.steps.length > 0 ? (
          <div className="space-y-4">
            <LintFindings lint={lint} />
            {gate.note ? (
              <p data-testid="lint-gate-note" className="text-xs text-foreground-lighter">
                {gate.note}
              </p>
            ) : null}
            <div data-testid="confirm-sql" className="space-y-3">
              <p className="text-xs text-foreground-lighter">
                {preview.steps.length === 1
                  ? "The SQL that will run:"
                  : `The SQL that will run, in this order (${plural(preview.steps.length, "migration")}):`}
              </p>
              {preview.steps.map((step) => (
                <div key={step.name} className="space-y-1.5">
                  <div className="flex flex-wrap items-center gap-2">
                    <span className="font-mono text-xs break-all text-foreground">{step.name}</span>
                    {step.transactional ? null : (
                      <Tag title="Runs outside a transaction">no transaction</Tag>
                    )}
                  </div>
                  <CodeBlock
                    code={step.sql}
                    label={`SQL of ${step.name}`}
                    className={preview.steps.length === 1 ? "max-h-[50vh]" : "max-h-64"}
                    data-testid={`confirm-sql-${step.name}`}
                  />
                </div>
              ))}
            </div>
          </div>
        ) : preview.note ? (
          <p
            data-testid="confirm-no-sql"
            className="rounded-md border border-border-default bg-surface-200 px-3 py-2 text-foreground-light"
          >
            {preview.note}
          </p>
        ) : null}
      </div>
    </DialogShell>
  );
}

/**
 * The migrations the apply's dry run says would run — what the lint reviews. Only once the dry
 * run answers for this very action (a previous action's answer can linger for a render).
 */
function wouldApply(
  action: PlannedAction | null,
  plan: ApplyReport | undefined,
  asked: ApplyInput | undefined,
): string[] | null {
  if (action === null || plan === undefined || asked === undefined) return null;
  const forThis =
    action.kind === "apply"
      ? asked.migrationName === action.migrationName
      : action.kind === "apply-all" && asked.migrationName === undefined;
  if (!forThis) return null;
  return plan.results.filter((r) => r.status === "would_apply").map((r) => r.migrationName);
}

/** The same apply, refused before anything runs should the lint find an error by then. */
function strictly(run: RunRequest): RunRequest {
  return run.kind === "apply" ? { ...run, input: { ...run.input, strict: true } } : run;
}

function previewOf(
  action: PlannedAction,
  applied: ApplyReport | undefined,
  rolledBack: RollbackOutput | undefined,
): Preview {
  switch (action.kind) {
    case "apply":
    case "apply-all": {
      if (!applied) return { steps: [], note: null, run: null };
      const steps = applied.results
        .filter((r) => r.status === "would_apply" && r.sql !== null)
        .map((r) => ({ name: r.migrationName, sql: r.sql ?? "", transactional: r.transactional }));
      const last = steps.at(-1);
      if (!last) {
        return {
          steps,
          note: "Already applied: nothing will run.",
          run: null,
        };
      }
      const input =
        action.kind === "apply"
          ? {
              migrationName: action.migrationName,
              ...(action.allowOutOfOrder ? { allowOutOfOrder: true } : {}),
            }
          : // Bounded to what was shown: a file added meanwhile is not run unseen.
            { upTo: last.name };
      return { steps, note: null, run: { kind: "apply", input, names: steps.map((s) => s.name) } };
    }
    case "rollback": {
      if (!rolledBack || "results" in rolledBack) return { steps: [], note: null, run: null };
      if (rolledBack.status === "not_applied") {
        return { steps: [], note: `${action.migrationName} is not applied.`, run: null };
      }
      const run: RunRequest = {
        kind: "rollback",
        input: {
          migrationName: action.migrationName,
          ...(action.markOnly ? { markOnly: true } : {}),
        },
        names: [action.migrationName],
      };
      if (rolledBack.sql === null) {
        return { steps: [], note: "No SQL runs: this only changes the record.", run };
      }
      return {
        steps: [
          {
            name: action.migrationName,
            sql: rolledBack.sql,
            transactional: rolledBack.transactional,
          },
        ],
        note: null,
        run,
      };
    }
    case "rollback-to": {
      if (!rolledBack || !("results" in rolledBack)) return { steps: [], note: null, run: null };
      const steps = rolledBack.results.map((r) => ({
        name: r.migrationName,
        sql: r.sql ?? "",
        transactional: r.transactional,
      }));
      if (steps.length === 0) {
        return {
          steps,
          note: `Nothing is applied after ${action.migrationName}: nothing will run.`,
          run: null,
        };
      }
      return {
        steps,
        note: null,
        run: {
          kind: "rollback",
          input: { to: action.migrationName },
          names: steps.map((s) => s.name),
        },
      };
    }
    case "resolve":
      return {
        steps: [],
        note: "No migration SQL runs: this only changes the record, as a resolve event.",
        run: {
          kind: "resolve",
          input: { migrationName: action.migrationName, as: action.as },
          names: [action.migrationName],
        },
      };
  }
}

interface DialogCopy {
  title: string;
  description: string;
  confirmLabel: string;
  variant: ButtonVariant;
  warning: { title: string; body: ReactNode } | null;
}

function describe(action: PlannedAction, preview: Preview): DialogCopy {
  switch (action.kind) {
    case "apply":
      return {
        title: `Apply ${action.migrationName}`,
        description: action.transactional
          ? "Runs the SQL below in one transaction with its tracking row: if any statement fails, nothing is kept."
          : "Runs the SQL below outside a transaction: if it fails midway, the statements before the failure stay applied and applies are blocked until it is resolved.",
        confirmLabel: "Apply migration",
        variant: "primary",
        warning: action.allowOutOfOrder
          ? {
              title: "Out of order",
              body: "It is older than the newest applied migration. Apply it only if it does not conflict with the ones applied after it.",
            }
          : null,
      };
    case "apply-all": {
      const count = preview.run?.names.length ?? action.count;
      return {
        title: `Apply ${plural(count, "pending migration")}`,
        description:
          "Runs each migration below in order, each in its own transaction unless marked otherwise. A failure stops the run; the ones before it stay applied.",
        confirmLabel: `Apply ${plural(count, "migration")}`,
        variant: "primary",
        warning: null,
      };
    }
    case "rollback":
      return action.markOnly
        ? {
            title: `Mark ${action.migrationName} as rolled back`,
            description:
              "It has no down section, so no SQL runs: Studio only records it as rolled back, and it becomes pending again.",
            confirmLabel: "Mark rolled back",
            variant: "danger",
            warning: {
              title: "Undo its changes by hand first",
              body: "Do this only after its changes have been undone in the database; otherwise applying it again will fail or duplicate them.",
            },
          }
        : {
            title: `Roll back ${action.migrationName}`,
            description:
              preview.steps[0]?.transactional === false
                ? "Runs its down section below outside a transaction and marks it rolled back; it becomes pending again. If it fails midway, the statements before the failure stay done, and applies are blocked until it is resolved."
                : "Runs its down section below in a transaction and marks it rolled back; it becomes pending again.",
            confirmLabel: "Roll back",
            variant: "danger",
            warning: null,
          };
    case "rollback-to": {
      const count = preview.run?.names.length ?? action.count;
      return {
        title: `Roll back to ${action.migrationName}`,
        description: `Runs the down section of every migration applied after ${action.migrationName}, newest first, each in its own transaction unless marked otherwise, and marks each rolled back; ${action.migrationName} stays applied. A failure stops the run: the ones rolled back before it stay rolled back.`,
        confirmLabel: `Roll back ${plural(count, "migration")}`,
        variant: "danger",
        warning: null,
      };
    }
    case "resolve":
      return {
        title:
          action.as === "accept_checksum"
            ? `Accept the new checksum of ${action.migrationName}`
            : `Mark ${action.migrationName} as ${action.as === "applied" ? "applied" : "rolled back"}`,
        description: RESOLVE_DESCRIPTIONS[action.as],
        confirmLabel: RESOLUTION_LABELS[action.as],
        variant: "warning",
        warning: {
          title: "Inspect the database first",
          body: "Resolving records your decision; it does not check or change the schema.",
        },
      };
  }
}
