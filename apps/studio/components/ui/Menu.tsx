import { type KeyboardEvent, useCallback, useEffect, useId, useRef, useState } from "react";
import { createPortal } from "react-dom";
import { Icon, type IconName } from "./Icon";
import { useAnchoredPosition } from "./use-anchored-position";

export interface MenuItem {
  /** Unique within the menu. */
  id: string;
  label: string;
  icon?: IconName;
  onSelect: () => void;
  disabled?: boolean;
  /** Shown under the label: what it does, or why it cannot be chosen now. */
  description?: string;
  tone?: "default" | "danger";
  "data-testid"?: string;
}

interface MenuProps {
  /** The trigger's accessible name, e.g. "Actions for 008_add_active_org_tracking". */
  label: string;
  /** Shown beside the "⋯" below `md` (a card has room for a word; a table row does not). */
  narrowText?: string;
  items: readonly MenuItem[];
  disabled?: boolean;
  "data-testid"?: string;
}

/**
 * A "⋯" button opening a menu of actions (the WAI-ARIA menu button pattern): arrow keys move
 * between items, Escape closes and returns focus to the button. The menu is portalled and fixed,
 * so a scrolling table never clips it; it stays inside the viewport and follows its button.
 */
export function Menu({
  label,
  narrowText,
  items,
  disabled = false,
  "data-testid": testId,
}: MenuProps) {
  const menuId = useId();
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLDivElement>(null);
  const [open, setOpen] = useState(false);

  const enabledItems = () =>
    [...(menu.current?.querySelectorAll<HTMLButtonElement>("[role=menuitem]") ?? [])].filter(
      (item) => !item.disabled,
    );

  const close = useCallback((returnFocus: boolean) => {
    setOpen(false);
    if (returnFocus) button.current?.focus();
  }, []);
  const closeQuietly = useCallback(() => close(false), [close]);
  const position = useAnchoredPosition(open, button, menu, "below-end", closeQuietly);

  const placed = position !== null;
  useEffect(() => {
    // Once visible (a hidden element takes no focus): the first item a key press would reach.
    if (placed) {
      menu.current?.querySelector<HTMLButtonElement>("[role=menuitem]:not(:disabled)")?.focus();
    }
  }, [placed]);

  useEffect(() => {
    if (!open) return;
    const onPointerDown = (event: PointerEvent) => {
      const target = event.target as Node | null;
      if (menu.current?.contains(target) || button.current?.contains(target)) return;
      close(false);
    };
    document.addEventListener("pointerdown", onPointerDown, true);
    return () => document.removeEventListener("pointerdown", onPointerDown, true);
  }, [open, close]);

  const onMenuKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const list = enabledItems();
    const index = list.indexOf(document.activeElement as HTMLButtonElement);
    const focusAt = (i: number) => list[(i + list.length) % list.length]?.focus();
    switch (event.key) {
      case "ArrowDown":
        event.preventDefault();
        focusAt(index + 1);
        break;
      case "ArrowUp":
        event.preventDefault();
        focusAt(index - 1);
        break;
      case "Home":
        event.preventDefault();
        focusAt(0);
        break;
      case "End":
        event.preventDefault();
        focusAt(list.length - 1);
        break;
      case "Escape":
        event.preventDefault();
        event.stopPropagation();
        close(true);
        break;
      case "Tab":
        close(false);
        break;
    }
  };

  return (
    <>
      <button
        ref={button}
        type="button"
        aria-label={label}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        disabled={disabled}
        data-testid={testId}
        onClick={() => (open ? close(false) : setOpen(true))}
        onKeyDown={(event) => {
          if (event.key === "ArrowDown" && !open) {
            event.preventDefault();
            setOpen(true);
          }
        }}
        className={`inline-flex h-[26px] min-w-[26px] shrink-0 items-center justify-center gap-1.5 rounded-md border text-xs ${narrowText ? "max-md:border-border-strong max-md:px-2.5" : ""} text-foreground-light transition-colors duration-100 hover:bg-surface-300 hover:text-foreground focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-brand disabled:cursor-not-allowed disabled:opacity-50 ${open ? "border-border-strong bg-surface-300 text-foreground" : "border-transparent"}`}
      >
        <Icon name="more" className="size-4" />
        {narrowText ? (
          <span aria-hidden="true" className="md:hidden">
            {narrowText}
          </span>
        ) : null}
      </button>
      {open
        ? createPortal(
            <div
              ref={menu}
              id={menuId}
              role="menu"
              aria-label={label}
              tabIndex={-1}
              onKeyDown={onMenuKeyDown}
              style={{
                top: position?.top ?? 0,
                left: position?.left ?? 0,
                visibility: position ? "visible" : "hidden",
              }}
              className="fixed z-[55] flex w-max max-w-[min(20rem,calc(100vw-16px))] min-w-48 flex-col rounded-md border border-border-strong bg-overlay p-1 shadow-xl shadow-black/50"
            >
              {items.map((item) => (
                <button
                  key={item.id}
                  type="button"
                  role="menuitem"
                  tabIndex={-1}
                  disabled={item.disabled}
                  data-testid={item["data-testid"]}
                  onClick={() => {
                    close(true);
                    item.onSelect();
                  }}
                  className={`flex w-full items-start gap-2 rounded px-2 py-1.5 text-left text-xs outline-none focus-visible:bg-surface-300 enabled:hover:bg-surface-300 disabled:cursor-not-allowed disabled:opacity-50 ${item.tone === "danger" ? "text-destructive" : "text-foreground"}`}
                >
                  <Icon
                    name={item.icon ?? "play"}
                    className={`mt-px size-3.5 ${item.icon ? "" : "invisible"}`}
                  />
                  <span className="min-w-0">
                    <span className="block">{item.label}</span>
                    {item.description ? (
                      <span className="mt-0.5 block text-[11px] leading-4 text-foreground-lighter">
                        {item.description}
                      </span>
                    ) : null}
                  </span>
                </button>
              ))}
            </div>,
            document.body,
          )
        : null}
    </>
  );
}
