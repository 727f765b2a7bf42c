import { type RefObject, useCallback, useEffect, useLayoutEffect, useState } from "react";

export type Placement = "below-start" | "below-end" | "right";

export interface AnchoredPosition {
  top: number;
  left: number;
}

const GAP = 6;
const MARGIN = 8;

/**
 * Where to put a fixed, portalled box (a menu, a tooltip) next to its anchor: beside it as asked,
 * flipped above when there is no room below, and kept inside the viewport. Follows the anchor
 * while the page or a scroll box moves; `onAnchorHidden` is called when the anchor leaves the
 * viewport (a box pointing at nothing should close).
 */
export function useAnchoredPosition(
  open: boolean,
  anchor: RefObject<Element | null>,
  floating: RefObject<HTMLElement | null>,
  placement: Placement,
  onAnchorHidden: () => void,
): AnchoredPosition | null {
  const [position, setPosition] = useState<AnchoredPosition | null>(null);

  // A new object only when it moved: an unchanged position must not render again.
  const moveTo = useCallback((top: number, left: number) => {
    setPosition((previous) =>
      previous && previous.top === top && previous.left === left ? previous : { top, left },
    );
  }, []);

  const place = useCallback(() => {
    const target = anchor.current;
    const box = floating.current;
    if (!target || !box) return;
    const rect = target.getBoundingClientRect();
    if (rect.bottom < 0 || rect.top > window.innerHeight) {
      onAnchorHidden();
      return;
    }
    const width = box.offsetWidth;
    const height = box.offsetHeight;
    const clampLeft = (left: number) =>
      Math.max(MARGIN, Math.min(left, window.innerWidth - width - MARGIN));
    if (placement === "right") {
      moveTo(
        Math.max(MARGIN, rect.top + rect.height / 2 - height / 2),
        clampLeft(rect.right + GAP),
      );
      return;
    }
    const below = rect.bottom + GAP;
    const top =
      below + height > window.innerHeight - MARGIN
        ? Math.max(MARGIN, rect.top - GAP - height)
        : below;
    moveTo(top, clampLeft(placement === "below-end" ? rect.right - width : rect.left));
  }, [anchor, floating, placement, onAnchorHidden, moveTo]);

  useLayoutEffect(() => {
    if (open) place();
    else setPosition(null);
  }, [open, place]);

  useEffect(() => {
    if (!open) return;
    window.addEventListener("scroll", place, true);
    window.addEventListener("resize", place);
    return () => {
      window.removeEventListener("scroll", place, true);
      window.removeEventListener("resize", place);
    };
  }, [open, place]);

  return open ? position : null;
}
