import type { StatusReport } from "./Migrations.types";

interface MigrationsSummaryProps {
  report: StatusReport;
}

/** The counts at a glance. */
export function MigrationsSummary({ report }: MigrationsSummaryProps) {
  const stats = [
    { id: "applied", label: "Applied", value: report.applied.length, tone: "text-foreground" },
    {
      id: "pending",
      label: "Pending",
      value: report.pending.length,
      tone: report.pending.length > 0 ? "text-brand" : "text-foreground",
    },
    {
      id: "problems",
      label: "Problems",
      value: report.problems.length,
      tone: report.problems.length > 0 ? "text-warning" : "text-foreground",
    },
  ];
  return (
    <dl className="grid grid-cols-3 divide-x divide-border-default rounded-md border border-border-default bg-surface-100">
      {stats.map((stat) => (
        <div key={stat.id} className="min-w-0 px-4 py-3">
          <dt className="text-xs text-foreground-lighter">{stat.label}</dt>
          <dd
            data-testid={`count-${stat.id}`}
            className={`mt-0.5 text-xl font-medium tabular-nums ${stat.tone}`}
          >
            {stat.value}
          </dd>
        </div>
      ))}
    </dl>
  );
}
