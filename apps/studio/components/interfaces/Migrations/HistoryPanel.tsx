import { useInfiniteQuery } from "@tanstack/react-query";
import { useId, useState } from "react";
import { useTRPC, useTRPCClient } from "../../../utils/trpc";
import { Alert } from "../../ui/Alert";
import { Button } from "../../ui/Button";
import { Icon } from "../../ui/Icon";
import { Spinner } from "../../ui/Spinner";
import {
  STACKED_BODY,
  STACKED_HEAD,
  STACKED_HEAD_CELL,
  STACKED_TABLE,
} from "../../ui/stacked-table";
import { HistoryRow } from "./HistoryRow";
import { describeError } from "./Migrations.utils";
import { POLL_INTERVAL_MS } from "./useLiveMigrations";

const PAGE_SIZE = 20;

interface HistoryPanelProps {
  /** For the filter: every migration known to the list. */
  migrationNames: readonly string[];
}

/** The audit trail (`schema_migration_events`), newest first, a page at a time. */
export function HistoryPanel({ migrationNames }: HistoryPanelProps) {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const filterId = useId();
  const [migrationName, setMigrationName] = useState("");
  const input = { limit: PAGE_SIZE, ...(migrationName ? { migrationName } : {}) };
  // Paged by hand rather than with `infiniteQueryOptions`: that adds a `direction` key to the
  // input, which the router's strict schema refuses. The key is tRPC's own, so invalidating
  // `migrations.*` after a change refreshes this too.
  const history = useInfiniteQuery({
    queryKey: trpc.migrations.history.infiniteQueryKey(input),
    queryFn: ({ pageParam, signal }) =>
      client.migrations.history.query(
        { ...input, ...(pageParam ? { cursor: pageParam } : {}) },
        { signal },
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.nextCursor,
    // Live like the list: what another replica or the CLI did shows up while the page is open.
    refetchInterval: POLL_INTERVAL_MS,
    refetchOnWindowFocus: "always",
  });
  const events = history.data?.pages.flatMap((page) => page.events) ?? [];

  return (
    <section aria-labelledby="history-heading" data-testid="history-panel" className="space-y-3">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <div className="min-w-0">
          <h2
            id="history-heading"
            className="flex items-center gap-2 text-base font-medium text-foreground"
          >
            <Icon name="history" className="size-4 text-foreground-lighter" />
            History
          </h2>
          <p className="mt-0.5 text-sm text-foreground-light">
            Every apply, rollback, baseline and resolve, successful or not, newest first.
          </p>
        </div>
        <div className="flex items-center gap-2">
          <label htmlFor={filterId} className="text-xs text-foreground-lighter">
            Migration
          </label>
          <select
            id={filterId}
            value={migrationName}
            onChange={(event) => setMigrationName(event.target.value)}
            data-testid="history-filter"
            className="h-[26px] max-w-56 rounded-md border border-border-strong bg-surface-200 px-2 text-xs text-foreground focus-visible:outline-2 focus-visible:outline-brand"
          >
            <option value="">All migrations</option>
            {migrationNames.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </div>
      </div>

      {history.isError && events.length > 0 ? (
        <p
          role="status"
          data-testid="history-stale"
          className="rounded-md border border-warning-border bg-warning-subtle px-3 py-2 text-xs text-foreground-light"
        >
          <span className="font-medium text-warning">Not up to date.</span> The history could not be
          refreshed: {describeError(history.error, "Loading the history").message} Showing what was
          read before.
        </p>
      ) : null}
      {history.isPending ? (
        <p className="flex items-center gap-2 py-4 text-sm text-foreground-light">
          <Spinner />
          Loading history…
        </p>
      ) : history.isError && events.length === 0 ? (
        <Alert
          tone="danger"
          role="alert"
          title="The history could not be loaded"
          actions={
            <Button onClick={() => void history.refetch()} icon={<Icon name="refresh" />}>
              Try again
            </Button>
          }
        >
          {describeError(history.error, "Loading the history").message}
        </Alert>
      ) : events.length === 0 ? (
        <p
          data-testid="history-empty"
          className="rounded-md border border-dashed border-border-strong px-4 py-6 text-center text-sm text-foreground-light"
        >
          {migrationName
            ? `Nothing has been recorded for ${migrationName} yet.`
            : "Nothing has been recorded yet: applies, rollbacks and resolutions will appear here."}
        </p>
      ) : (
        <div className="rounded-md md:overflow-x-auto md:border md:border-border-default md:bg-surface-100">
          <table className={STACKED_TABLE} data-testid="history-table">
            <caption className="sr-only">Audit history of migration changes, newest first</caption>
            <thead className={STACKED_HEAD}>
              <tr>
                <th scope="col" className={STACKED_HEAD_CELL}>
                  When
                </th>
                <th scope="col" className={STACKED_HEAD_CELL}>
                  Migration
                </th>
                <th scope="col" className={STACKED_HEAD_CELL}>
                  Action
                </th>
                <th scope="col" className={STACKED_HEAD_CELL}>
                  Outcome
                </th>
                <th scope="col" className={STACKED_HEAD_CELL}>
                  By
                </th>
                <th scope="col" className={STACKED_HEAD_CELL}>
                  Duration
                </th>
                <th scope="col" className={STACKED_HEAD_CELL}>
                  Error or note
                </th>
              </tr>
            </thead>
            <tbody className={STACKED_BODY}>
              {events.map((event) => (
                <HistoryRow key={event.id} event={event} />
              ))}
            </tbody>
          </table>
        </div>
      )}

      {history.hasNextPage ? (
        <div className="flex justify-center">
          <Button
            onClick={() => void history.fetchNextPage()}
            loading={history.isFetchingNextPage}
            data-testid="history-load-more"
          >
            {history.isFetchingNextPage ? "Loading…" : "Load more"}
          </Button>
        </div>
      ) : null}
    </section>
  );
}
