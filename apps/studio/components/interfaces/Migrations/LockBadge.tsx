import { Icon } from "../../ui/Icon";
import { LOCK_WEIGHT_NOTES, type LockWeight, lockWeight } from "./lock-weight";

const WEIGHT_STYLES: Record<LockWeight, string> = {
  "blocks-all": "border-destructive-border bg-destructive-subtle text-destructive",
  "blocks-writes": "border-warning-border bg-warning-subtle text-warning",
  light: "border-border-strong bg-surface-300 text-foreground-light",
};

interface LockBadgeProps {
  /** A table lock mode as `LOCK TABLE` spells it: `ACCESS EXCLUSIVE`, `SHARE`, … */
  mode: string;
}

/**
 * A table lock, coloured by what it stops on a live table (reads and writes, writes, or neither)
 * and saying so on hover: the mode's name alone means little to most who read it.
 */
export function LockBadge({ mode }: LockBadgeProps) {
  const weight = lockWeight(mode);
  return (
    <span
      data-testid="lock-badge"
      data-weight={weight}
      title={`${mode}: ${LOCK_WEIGHT_NOTES[weight]}`}
      className={`inline-flex items-center gap-1 rounded border px-1.5 py-px font-mono text-[11px] leading-4 whitespace-nowrap ${WEIGHT_STYLES[weight]}`}
    >
      <Icon name="lock" className="size-3" />
      {mode}
    </span>
  );
}
