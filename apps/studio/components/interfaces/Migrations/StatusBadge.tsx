import { Icon, type IconName } from "../../ui/Icon";
import { Spinner } from "../../ui/Spinner";
import type { DisplayStatus } from "./Migrations.types";
import { STATUS_LABELS } from "./Migrations.utils";

const STYLES: Record<DisplayStatus, { icon: IconName; className: string }> = {
  applied: { icon: "check", className: "border-brand/30 bg-brand-subtle text-brand" },
  pending: {
    icon: "clock",
    className: "border-border-strong bg-surface-300 text-foreground-light",
  },
  failed: {
    icon: "x",
    className: "border-destructive-border bg-destructive-subtle text-destructive",
  },
  interrupted: { icon: "pause", className: "border-warning-border bg-warning-subtle text-warning" },
  running: { icon: "play", className: "border-[#26375a] bg-info-subtle text-info" },
  rolled_back: { icon: "undo", className: "border-[#26375a] bg-info-subtle text-info" },
  missing: {
    icon: "file-missing",
    className: "border-warning-border bg-warning-subtle text-warning",
  },
  out_of_order: {
    icon: "shuffle",
    className: "border-warning-border bg-warning-subtle text-warning",
  },
};

interface StatusBadgeProps {
  status: DisplayStatus;
  /** While an action works on the row: "Applying…", "Rolling back…". */
  busyLabel?: string | null;
}

/** Status in words and an icon, never by colour alone. */
export function StatusBadge({ status, busyLabel = null }: StatusBadgeProps) {
  if (busyLabel) {
    return (
      <span
        data-testid="status-busy"
        className="inline-flex items-center gap-1.5 rounded-full border border-brand/40 bg-brand-subtle px-2 py-0.5 text-xs font-medium whitespace-nowrap text-brand"
      >
        <Spinner className="size-3" />
        {busyLabel}
      </span>
    );
  }
  const style = STYLES[status];
  return (
    <span
      data-testid="status-badge"
      className={`inline-flex items-center gap-1.5 rounded-full border px-2 py-0.5 text-xs font-medium whitespace-nowrap ${style.className}`}
    >
      <Icon name={style.icon} className="size-3" />
      {STATUS_LABELS[status]}
    </span>
  );
}
