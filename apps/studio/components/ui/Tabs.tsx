import { type KeyboardEvent, type ReactNode, useId, useRef } from "react";

export interface TabDefinition<T extends string> {
  id: T;
  label: string;
  /** A short note beside the label, e.g. "changed". */
  badge?: string;
}

interface TabsProps<T extends string> {
  /** What the tabs switch between, for screen readers. */
  label: string;
  tabs: readonly TabDefinition<T>[];
  value: T;
  onChange: (id: T) => void;
  /** The selected tab's panel. */
  children: ReactNode;
}

/**
 * Tabs in the WAI-ARIA pattern: one tab stop, arrow keys move between tabs (and select them),
 * the panel is labelled by its tab.
 */
export function Tabs<T extends string>({ label, tabs, value, onChange, children }: TabsProps<T>) {
  const base = useId();
  const list = useRef<HTMLDivElement>(null);
  const tabId = (id: T) => `${base}-tab-${id}`;

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const index = tabs.findIndex((tab) => tab.id === value);
    const next =
      event.key === "ArrowRight"
        ? index + 1
        : event.key === "ArrowLeft"
          ? index - 1
          : event.key === "Home"
            ? 0
            : event.key === "End"
              ? tabs.length - 1
              : null;
    if (next === null) return;
    event.preventDefault();
    const tab = tabs[(next + tabs.length) % tabs.length];
    if (!tab) return;
    onChange(tab.id);
    list.current?.querySelector<HTMLButtonElement>(`#${CSS.escape(tabId(tab.id))}`)?.focus();
  };

  return (
    <div className="flex min-h-0 flex-col gap-3">
      <div
        ref={list}
        role="tablist"
        aria-label={label}
        onKeyDown={onKeyDown}
        className="flex flex-wrap gap-1 border-b border-border-default"
      >
        {tabs.map((tab) => {
          const selected = tab.id === value;
          return (
            <button
              key={tab.id}
              id={tabId(tab.id)}
              type="button"
              role="tab"
              aria-selected={selected}
              aria-controls={`${base}-panel`}
              tabIndex={selected ? 0 : -1}
              data-testid={`tab-${tab.id}`}
              onClick={() => onChange(tab.id)}
              className={`-mb-px inline-flex items-center gap-1.5 border-b-2 px-2.5 py-1.5 text-xs transition-colors focus-visible:outline-2 focus-visible:outline-brand ${selected ? "border-brand text-foreground" : "border-transparent text-foreground-lighter hover:text-foreground-light"}`}
            >
              {tab.label}
              {tab.badge ? (
                <span className="rounded border border-warning-border px-1 text-[10px] text-warning">
                  {tab.badge}
                </span>
              ) : null}
            </button>
          );
        })}
      </div>
      <div id={`${base}-panel`} role="tabpanel" aria-labelledby={tabId(value)} className="min-h-0">
        {children}
      </div>
    </div>
  );
}
