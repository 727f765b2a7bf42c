import {
  cloneElement,
  type ReactElement,
  type ReactNode,
  useCallback,
  useEffect,
  useId,
  useRef,
  useState,
} from "react";
import { createPortal } from "react-dom";
import { useAnchoredPosition } from "./use-anchored-position";

interface TooltipProps {
  content: ReactNode;
  /** One focusable element: it gets `aria-describedby` pointing at the tooltip while shown. */
  children: ReactElement<{ "aria-describedby"?: string }>;
  /**
   * `focus`: shown on keyboard focus only — for a trigger whose `title` already shows it on hover.
   * `hover-focus`: on hover too.
   */
  trigger?: "focus" | "hover-focus";
  side?: "bottom" | "right";
  "data-testid"?: string;
}

const HOVER_DELAY_MS = 300;

/**
 * A small tooltip in a portal, so an ancestor that scrolls or clips (a table's scroll box) cannot
 * cut it off; it stays inside the viewport, follows its trigger, and closes on Escape, blur and
 * leave.
 */
export function Tooltip({
  content,
  children,
  trigger = "hover-focus",
  side = "bottom",
  "data-testid": testId,
}: TooltipProps) {
  const id = useId();
  const anchor = useRef<HTMLSpanElement>(null);
  const bubble = useRef<HTMLDivElement>(null);
  const timer = useRef<number | null>(null);
  const [open, setOpen] = useState(false);

  const clearTimer = useCallback(() => {
    if (timer.current !== null) window.clearTimeout(timer.current);
    timer.current = null;
  }, []);
  const hide = useCallback(() => {
    clearTimer();
    setOpen(false);
  }, [clearTimer]);
  const target = useRef<Element | null>(null);
  const position = useAnchoredPosition(
    open,
    target,
    bubble,
    side === "right" ? "right" : "below-start",
    hide,
  );

  useEffect(() => clearTimer, [clearTimer]);

  const hoverable = trigger === "hover-focus";
  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: it only hears what bubbles from its child, the focusable trigger
    <span
      ref={anchor}
      className="inline-flex max-w-full min-w-0"
      onFocus={(event) => {
        target.current = event.target;
        if (hoverable || event.target.matches(":focus-visible")) setOpen(true);
      }}
      onBlur={hide}
      onKeyDown={(event) => {
        if (event.key === "Escape" && open) {
          event.stopPropagation();
          hide();
        }
      }}
      onPointerEnter={
        hoverable
          ? () => {
              target.current = anchor.current?.firstElementChild ?? anchor.current;
              clearTimer();
              timer.current = window.setTimeout(() => setOpen(true), HOVER_DELAY_MS);
            }
          : undefined
      }
      onPointerLeave={hoverable ? hide : undefined}
    >
      {cloneElement(children, { "aria-describedby": open ? id : undefined })}
      {open
        ? createPortal(
            <div
              ref={bubble}
              id={id}
              role="tooltip"
              data-testid={testId}
              style={{
                top: position?.top ?? 0,
                left: position?.left ?? 0,
                visibility: position ? "visible" : "hidden",
              }}
              className="pointer-events-none fixed z-[60] max-w-[min(36rem,calc(100vw-16px))] rounded-md border border-border-strong bg-overlay px-2.5 py-1.5 text-xs break-all text-foreground shadow-lg shadow-black/40"
            >
              {content}
            </div>,
            document.body,
          )
        : null}
    </span>
  );
}
