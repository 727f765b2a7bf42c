import { type UseQueryResult, useQuery } from "@tanstack/react-query";
import { useTRPC } from "../../../utils/trpc";

/** How often an open page asks again while it is visible (hidden tabs do not poll). */
export const POLL_INTERVAL_MS = 5_000;

/**
 * The migrations list, live: asked again every few seconds while the page is visible, at once
 * when it regains focus or the network, and (see `useMigrationActions`) right after any act — so
 * what another replica, the CLI or a deploy did shows without a reload.
 */
export function useLiveMigrations() {
  const trpc = useTRPC();
  return useQuery({
    ...trpc.migrations.list.queryOptions(),
    refetchInterval: POLL_INTERVAL_MS,
    refetchOnWindowFocus: "always",
    refetchOnReconnect: "always",
  });
}

/** How current the data on screen is. */
export interface Freshness {
  /** The last attempt failed: what is shown is older than it looks. */
  stale: boolean;
  /** When the data shown was fetched. */
  fetchedAt: Date | null;
  /** When the last failed attempt gave up. */
  failedAt: Date | null;
  error: unknown;
  refreshing: boolean;
}

export function freshnessOf(query: UseQueryResult<unknown, unknown>): Freshness {
  const stale = query.isError && query.data !== undefined;
  return {
    stale,
    fetchedAt: query.dataUpdatedAt > 0 ? new Date(query.dataUpdatedAt) : null,
    failedAt: query.errorUpdatedAt > 0 ? new Date(query.errorUpdatedAt) : null,
    error: query.error,
    refreshing: query.isFetching,
  };
}
