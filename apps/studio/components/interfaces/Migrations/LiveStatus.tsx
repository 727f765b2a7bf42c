import { LocalTime } from "../../ui/LocalTime";
import type { Freshness } from "./useLiveMigrations";

interface LiveStatusProps {
  freshness: Freshness;
}

/** A quiet line saying the list keeps itself current, and as of when. */
export function LiveStatus({ freshness }: LiveStatusProps) {
  const state = freshness.stale ? "stale" : freshness.refreshing ? "refreshing" : "live";
  return (
    <p
      data-testid="live-status"
      data-state={state}
      className="flex items-center gap-1.5 text-xs text-foreground-lighter"
    >
      <span
        aria-hidden="true"
        className={`size-1.5 rounded-full ${state === "stale" ? "bg-warning" : "bg-brand"} ${state === "refreshing" ? "animate-pulse motion-reduce:animate-none" : ""}`}
      />
      {state === "stale" ? "Stale" : "Live"}
      {freshness.fetchedAt ? (
        <>
          {" · updated "}
          <LocalTime date={freshness.fetchedAt} format="time" />
        </>
      ) : null}
    </p>
  );
}
