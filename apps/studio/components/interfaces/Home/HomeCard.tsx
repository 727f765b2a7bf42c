import type { ReactNode } from "react";
import { Icon, type IconName } from "../../ui/Icon";

interface HomeCardProps {
  title: string;
  icon: IconName;
  children: ReactNode;
  footer?: ReactNode;
  "data-testid"?: string;
}

export function HomeCard({ title, icon, children, footer, "data-testid": testId }: HomeCardProps) {
  return (
    <section
      data-testid={testId}
      aria-label={title}
      className="flex min-w-0 flex-col rounded-md border border-border-default bg-surface-100"
    >
      <h2 className="flex items-center gap-2 border-b border-border-default px-4 py-2.5 text-sm font-medium text-foreground">
        <Icon name={icon} className="size-4 text-foreground-lighter" />
        {title}
      </h2>
      <div className="flex-1 px-4 py-3 text-sm text-foreground-light">{children}</div>
      {footer ? <div className="border-t border-border-default px-4 py-2.5">{footer}</div> : null}
    </section>
  );
}
