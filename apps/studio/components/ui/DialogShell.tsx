import * as Dialog from "@radix-ui/react-dialog";
import { type ReactNode, useRef } from "react";
import { Icon } from "./Icon";

interface DialogShellProps {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: ReactNode;
  description: ReactNode;
  children?: ReactNode;
  footer?: ReactNode;
  size?: "medium" | "large";
  "data-testid"?: string;
}

/**
 * Radix Dialog in Studio's style: focus is trapped inside, Escape and the close button dismiss, and
 * focus returns to the button that opened it. The body scrolls; header and footer stay put.
 */
export function DialogShell({
  open,
  onOpenChange,
  title,
  description,
  children,
  footer,
  size = "medium",
  "data-testid": testId,
}: DialogShellProps) {
  const width = size === "large" ? "max-w-3xl" : "max-w-lg";
  // Opened from state rather than a Dialog.Trigger, so Radix has no trigger to return focus to:
  // remember what had focus (the button that asked) and go back to it on close.
  const opener = useRef<HTMLElement | null>(null);
  return (
    <Dialog.Root open={open} onOpenChange={onOpenChange}>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 z-40 bg-black/70 backdrop-blur-[1px]" />
        <Dialog.Content
          data-testid={testId}
          onOpenAutoFocus={() => {
            opener.current =
              document.activeElement instanceof HTMLElement ? document.activeElement : null;
          }}
          onCloseAutoFocus={(event) => {
            const target = opener.current;
            opener.current = null;
            if (target?.isConnected) {
              event.preventDefault();
              target.focus();
            }
          }}
          className={`fixed top-1/2 left-1/2 z-50 flex max-h-[calc(100dvh-2rem)] w-[calc(100vw-1.5rem)] ${width} -translate-x-1/2 -translate-y-1/2 flex-col rounded-lg border border-border-strong bg-overlay shadow-2xl shadow-black/50 focus:outline-none`}
        >
          <div className="flex items-start gap-3 border-b border-border-default px-5 py-4">
            <div className="min-w-0 flex-1">
              <Dialog.Title className="break-words text-base font-medium text-foreground">
                {title}
              </Dialog.Title>
              <Dialog.Description className="mt-1 text-sm text-foreground-light">
                {description}
              </Dialog.Description>
            </div>
            <Dialog.Close
              className="-mr-1 rounded-md p-1 text-foreground-lighter transition-colors hover:bg-surface-300 hover:text-foreground focus-visible:outline-2 focus-visible:outline-brand"
              aria-label="Close"
            >
              <Icon name="x" className="size-4" />
            </Dialog.Close>
          </div>
          {children ? (
            <div className="min-h-0 flex-1 overflow-y-auto px-5 py-4 text-sm">{children}</div>
          ) : null}
          {footer ? (
            <div className="flex flex-wrap items-center justify-end gap-2 border-t border-border-default px-5 py-3">
              {footer}
            </div>
          ) : null}
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
