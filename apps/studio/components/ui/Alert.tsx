import type { ReactNode } from "react";
import { Icon, type IconName } from "./Icon";

export type AlertTone = "danger" | "warning" | "success" | "info";

const TONES: Record<AlertTone, { box: string; icon: IconName; iconClass: string }> = {
  danger: {
    box: "border-destructive-border bg-destructive-subtle",
    icon: "x",
    iconClass: "text-destructive",
  },
  warning: {
    box: "border-warning-border bg-warning-subtle",
    icon: "alert",
    iconClass: "text-warning",
  },
  success: { box: "border-brand/30 bg-brand-subtle", icon: "check", iconClass: "text-brand" },
  info: { box: "border-[#26375a] bg-info-subtle", icon: "alert", iconClass: "text-info" },
};

interface AlertProps {
  tone: AlertTone;
  title: ReactNode;
  children?: ReactNode;
  actions?: ReactNode;
  /** "alert" interrupts a screen reader (errors); "status" waits its turn (results). */
  role?: "alert" | "status";
  className?: string;
  "data-testid"?: string;
}

export function Alert({
  tone,
  title,
  children,
  actions,
  role,
  className = "",
  "data-testid": testId,
}: AlertProps) {
  const style = TONES[tone];
  return (
    <div
      role={role}
      data-testid={testId}
      className={`flex gap-3 rounded-md border px-4 py-3 text-sm ${style.box} ${className}`}
    >
      <Icon name={style.icon} className={`mt-0.5 size-4 ${style.iconClass}`} />
      <div className="min-w-0 flex-1">
        <div className="font-medium text-foreground">{title}</div>
        {children ? <div className="mt-1 text-foreground-light">{children}</div> : null}
        {actions ? <div className="mt-3 flex flex-wrap gap-2">{actions}</div> : null}
      </div>
    </div>
  );
}
