import { Button } from "../../ui/Button";
import { Icon } from "../../ui/Icon";
import type { Problem, Resolution } from "./Migrations.types";
import { problemLabel, RESOLUTION_LABELS, remedyText, resolutionsFor } from "./Migrations.utils";

interface ProblemItemProps {
  problem: Problem;
  locked: boolean;
  onResolve: (migrationName: string, as: Resolution) => void;
  /** Opens a drifted migration's SQL at the diff of what ran against the file. */
  onReviewDrift: (migrationName: string) => void;
}

export function ProblemItem({ problem, locked, onResolve, onReviewDrift }: ProblemItemProps) {
  const name = problem.migrationName;
  const resolutions = name ? resolutionsFor(problem) : [];
  return (
    <li
      data-testid="problem"
      data-kind={problem.kind}
      data-migration={name ?? undefined}
      data-blocking={problem.blocking ? "true" : "false"}
      className="flex flex-col gap-2 px-4 py-3 md:flex-row md:items-start md:gap-4"
    >
      <div className="min-w-0 flex-1">
        <div className="flex flex-wrap items-center gap-2">
          <span
            className={`rounded border px-1.5 py-px text-[11px] font-medium uppercase tracking-wide ${problem.blocking ? "border-destructive-border text-destructive" : "border-warning-border text-warning"}`}
          >
            {problemLabel(problem)}
            {problem.blocking ? " · blocks applies" : ""}
          </span>
          {name ? (
            <span className="font-mono text-xs break-all text-foreground">{name}</span>
          ) : null}
        </div>
        <p className="mt-1.5 text-sm break-words text-foreground">{problem.message}</p>
        <p className="mt-1 text-sm break-words text-foreground-light">
          <span className="font-medium text-foreground-light">What to do: </span>
          {remedyText(problem.remedy)}
        </p>
      </div>
      {name && resolutions.length > 0 ? (
        <div className="flex shrink-0 flex-wrap gap-1.5 md:justify-end">
          {problem.kind === "drift" ? (
            <Button
              variant="ghost"
              icon={<Icon name="diff" />}
              onClick={() => onReviewDrift(name)}
              data-testid={`review-drift-${name}`}
              aria-label={`Compare ${name} with what ran`}
            >
              Compare with what ran
            </Button>
          ) : null}
          {resolutions.map((as) => (
            <Button
              key={as}
              variant="warning"
              disabled={locked}
              onClick={() => onResolve(name, as)}
              data-testid={`resolve-${as}-${name}`}
              aria-label={`${RESOLUTION_LABELS[as]}: ${name}`}
            >
              {RESOLUTION_LABELS[as]}
            </Button>
          ))}
        </div>
      ) : null}
    </li>
  );
}
