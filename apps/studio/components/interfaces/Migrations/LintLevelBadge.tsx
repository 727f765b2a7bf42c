import { Icon, type IconName } from "../../ui/Icon";
import type { LintFinding } from "./Migrations.types";

type Level = LintFinding["level"];

const LEVELS: Record<Level, { label: string; icon: IconName; className: string }> = {
  error: {
    label: "Error",
    icon: "x",
    className: "border-destructive-border bg-destructive-solid text-white",
  },
  warning: {
    label: "Warning",
    icon: "alert",
    className: "border-warning-border bg-warning-subtle text-warning",
  },
  info: { label: "Info", icon: "alert", className: "border-[#26375a] bg-info-subtle text-info" },
};

/** A finding's level in words and an icon, never by colour alone. */
export function LintLevelBadge({ level }: { level: Level }) {
  const style = LEVELS[level];
  return (
    <span
      data-testid="finding-level"
      className={`inline-flex items-center gap-1 rounded-full border px-2 py-px text-[11px] font-medium leading-4 whitespace-nowrap ${style.className}`}
    >
      <Icon name={style.icon} className="size-3" />
      {style.label}
    </span>
  );
}
