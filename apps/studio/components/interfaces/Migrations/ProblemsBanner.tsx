import { Icon } from "../../ui/Icon";
import type { Problem, Resolution } from "./Migrations.types";
import { plural } from "./Migrations.utils";
import { ProblemItem } from "./ProblemItem";

interface ProblemsBannerProps {
  problems: readonly Problem[];
  locked: boolean;
  onResolve: (migrationName: string, as: Resolution) => void;
  onReviewDrift: (migrationName: string) => void;
}

/** What is wrong, at the top of the page, with what to do about each and the fix when there is one. */
export function ProblemsBanner({
  problems,
  locked,
  onResolve,
  onReviewDrift,
}: ProblemsBannerProps) {
  if (problems.length === 0) return null;
  const blocking = problems.some((p) => p.blocking);
  return (
    <section
      data-testid="problems-banner"
      aria-labelledby="problems-heading"
      className={`overflow-hidden rounded-md border ${blocking ? "border-destructive-border bg-destructive-subtle/60" : "border-warning-border bg-warning-subtle/60"}`}
    >
      <div className="flex items-start gap-3 px-4 py-3">
        <Icon
          name="alert"
          className={`mt-0.5 size-4 ${blocking ? "text-destructive" : "text-warning"}`}
        />
        <div className="min-w-0">
          <h2 id="problems-heading" className="text-sm font-medium text-foreground">
            {plural(problems.length, "problem")} {problems.length === 1 ? "needs" : "need"}{" "}
            attention
          </h2>
          <p className="mt-0.5 text-sm text-foreground-light">
            {blocking
              ? "Applies are blocked until the problems marked “blocks applies” are resolved. Inspect the database before resolving: resolving records a decision and runs no migration SQL."
              : "Nothing is blocked, but these need a look."}
          </p>
        </div>
      </div>
      <ul className="divide-y divide-border-default border-t border-border-default bg-surface-100/80">
        {problems.map((problem) => (
          <ProblemItem
            // Problems have no id; the message names the migration or file and what is wrong.
            key={`${problem.kind}:${problem.migrationName ?? ""}:${problem.message}`}
            problem={problem}
            locked={locked}
            onResolve={onResolve}
            onReviewDrift={onReviewDrift}
          />
        ))}
      </ul>
    </section>
  );
}
