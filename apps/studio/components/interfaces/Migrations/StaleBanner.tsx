import { Button } from "../../ui/Button";
import { Icon } from "../../ui/Icon";
import { LocalTime } from "../../ui/LocalTime";
import { Spinner } from "../../ui/Spinner";
import { describeError } from "./Migrations.utils";
import type { Freshness } from "./useLiveMigrations";

interface StaleBannerProps {
  freshness: Freshness;
  onRetry: () => void;
}

/**
 * Says, where it cannot be missed, that what the page shows is the last state Studio could read
 * — and when that was — because asking again failed; and why. Gone as soon as a refresh succeeds.
 */
export function StaleBanner({ freshness, onRetry }: StaleBannerProps) {
  if (!freshness.stale) return null;
  const error = describeError(freshness.error, "Refreshing");
  // No HTTP status: the request never got an answer — Studio itself is out of reach.
  const title = error.status === null ? "Studio could not be reached" : error.title;
  return (
    <div
      role="alert"
      data-testid="stale-banner"
      className="flex flex-col gap-3 rounded-md border border-warning-border bg-warning-subtle px-4 py-3 text-sm sm:flex-row sm:items-start"
    >
      <Icon name="alert" className="mt-0.5 size-4 text-warning" />
      <div className="min-w-0 flex-1">
        <p className="font-medium text-foreground">
          Not up to date: showing the state as of{" "}
          {freshness.fetchedAt ? (
            <LocalTime date={freshness.fetchedAt} data-testid="stale-fetched-at" />
          ) : (
            "an earlier load"
          )}
        </p>
        <p className="mt-1 break-words text-foreground-light" data-testid="stale-error">
          {title}: {error.message}
        </p>
        <p className="mt-1 text-xs text-foreground-lighter">
          {freshness.failedAt ? (
            <>
              Last tried at <LocalTime date={freshness.failedAt} format="time" />.{" "}
            </>
          ) : null}
          Studio keeps trying every few seconds; this goes away once it can read the state again.
        </p>
      </div>
      <Button
        variant="default"
        onClick={onRetry}
        disabled={freshness.refreshing}
        icon={freshness.refreshing ? <Spinner /> : <Icon name="refresh" />}
        data-testid="stale-retry"
      >
        {freshness.refreshing ? "Trying…" : "Try again"}
      </Button>
    </div>
  );
}
