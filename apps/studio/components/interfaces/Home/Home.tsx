import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useTRPC } from "../../../utils/trpc";
import { Icon } from "../../ui/Icon";
import { LocalTime } from "../../ui/LocalTime";
import { Spinner } from "../../ui/Spinner";
import type { StatusReport } from "../Migrations/Migrations.types";
import { applyNote, describeError, plural } from "../Migrations/Migrations.utils";
import { freshnessOf, POLL_INTERVAL_MS, useLiveMigrations } from "../Migrations/useLiveMigrations";
import { HomeCard } from "./HomeCard";
import { useDatabaseHealth } from "./useDatabaseHealth";

const ACTION_WORDS: Record<string, string> = {
  apply: "Applied",
  rollback: "Rolled back",
  baseline: "Baselined",
  resolve: "Resolved",
};

/** The state in a few words: what an operator checks first. */
function headline(report: StatusReport, stale: boolean): string {
  if (stale) return "State unknown: the last refresh failed";
  const blocking = report.problems.filter((p) => p.blocking).length;
  if (blocking > 0) return `Blocked: ${plural(blocking, "problem")} to resolve`;
  if (report.pending.length > 0) return `${plural(report.pending.length, "migration")} pending`;
  return "Up to date";
}

/** The platform database at a glance: its migrations, whether it answers, the latest change. */
export function Home() {
  const trpc = useTRPC();
  const list = useLiveMigrations();
  const freshness = freshnessOf(list);
  const health = useDatabaseHealth();
  const latest = useQuery({
    ...trpc.migrations.history.queryOptions({ limit: 1 }),
    refetchInterval: POLL_INTERVAL_MS,
  });
  const report = list.data;
  const event = latest.data?.events[0] ?? null;

  return (
    <div className="mx-auto w-full max-w-[1200px] space-y-6 px-4 py-6 md:px-6 md:py-8">
      <div>
        <h1 className="text-xl font-medium text-foreground">Platform database</h1>
        <p className="mt-1 text-sm text-foreground-light">
          The database Studio manages: organizations, users, members and projects.
        </p>
      </div>
      <div className="grid gap-4 md:grid-cols-2 xl:grid-cols-3">
        <HomeCard
          title="Migrations"
          icon="list"
          data-testid="home-migrations"
          footer={
            <Link
              href="/migrations"
              className="inline-flex items-center gap-1 text-xs text-brand-link hover:underline focus-visible:outline-2 focus-visible:outline-brand"
            >
              Open Migrations
              <span aria-hidden="true">→</span>
            </Link>
          }
        >
          {report ? (
            <div className="space-y-2">
              <p
                className="text-base font-medium text-foreground"
                data-testid="home-migrations-headline"
              >
                {headline(report, freshness.stale)}
              </p>
              <p className="text-xs text-foreground-light">{applyNote(report, freshness.stale)}</p>
              <p className="text-xs text-foreground-lighter">
                {report.applied.length} applied · {report.pending.length} pending ·{" "}
                {plural(report.problems.length, "problem")}
              </p>
            </div>
          ) : list.isError ? (
            <p className="text-destructive">
              {describeError(list.error, "Loading the migrations").message}
            </p>
          ) : (
            <p className="flex items-center gap-2">
              <Spinner />
              Loading…
            </p>
          )}
        </HomeCard>
        <HomeCard title="Database" icon="database" data-testid="home-database">
          {health.data === undefined ? (
            health.isError ? (
              <p className="text-destructive">Studio could not be reached.</p>
            ) : (
              <p className="flex items-center gap-2">
                <Spinner />
                Checking…
              </p>
            )
          ) : (
            <p
              className={`flex items-center gap-2 ${health.data && !health.isError ? "text-foreground" : "text-destructive"}`}
            >
              <Icon name={health.data && !health.isError ? "check" : "x"} className="size-4" />
              {health.isError
                ? "Studio could not be reached."
                : health.data
                  ? "Answering."
                  : "Not answering: Studio cannot reach its database."}
            </p>
          )}
        </HomeCard>
        <HomeCard title="Latest change" icon="history" data-testid="home-latest">
          {event ? (
            <div className="space-y-1">
              <p className="truncate font-mono text-xs text-foreground" title={event.migrationName}>
                {event.migrationName}
              </p>
              <p className="text-xs">
                {ACTION_WORDS[event.action] ?? event.action}
                {event.outcome === "failed" ? " (failed)" : ""}
                {event.actor ? ` by ${event.actor}` : ""}, <LocalTime date={event.at} />
              </p>
            </div>
          ) : latest.isPending ? (
            <p className="flex items-center gap-2">
              <Spinner />
              Loading…
            </p>
          ) : (
            <p>Nothing has been recorded yet.</p>
          )}
        </HomeCard>
      </div>
    </div>
  );
}
