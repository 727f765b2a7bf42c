import * as Dialog from "@radix-ui/react-dialog";
import { useState } from "react";
import { Icon } from "../ui/Icon";
import { NavLinks } from "./NavLinks";
import { StudioLogo } from "./StudioLogo";

/**
 * The sidebar on a phone: a menu button in the header opening the navigation as a sheet from the
 * left (a Radix dialog: focus kept inside, Escape and a tap outside close it).
 */
export function MobileNav() {
  const [open, setOpen] = useState(false);
  return (
    <Dialog.Root open={open} onOpenChange={setOpen}>
      <Dialog.Trigger
        className="-ml-1 rounded-md p-1 text-foreground-light hover:bg-surface-300 hover:text-foreground focus-visible:outline-2 focus-visible:outline-brand md:hidden"
        aria-label="Open navigation"
        data-testid="mobile-nav-open"
      >
        <Icon name="menu" className="size-5" />
      </Dialog.Trigger>
      <Dialog.Portal>
        <Dialog.Overlay className="fixed inset-0 z-40 bg-black/60" />
        <Dialog.Content
          data-testid="mobile-nav"
          className="fixed inset-y-0 left-0 z-50 flex w-64 max-w-[85vw] flex-col border-r border-border-strong bg-surface-100 px-3 py-3 shadow-2xl shadow-black/50 focus:outline-none"
        >
          <div className="mb-4 flex items-center justify-between px-1">
            <Dialog.Title className="flex items-center gap-2 text-sm font-medium text-foreground">
              <StudioLogo />
              Studio
            </Dialog.Title>
            <Dialog.Close
              className="rounded-md p-1 text-foreground-lighter hover:bg-surface-300 hover:text-foreground focus-visible:outline-2 focus-visible:outline-brand"
              aria-label="Close navigation"
            >
              <Icon name="x" className="size-4" />
            </Dialog.Close>
          </div>
          <Dialog.Description className="sr-only">The pages of this Studio</Dialog.Description>
          <nav aria-label="Product">
            <NavLinks variant="full" onNavigate={() => setOpen(false)} />
          </nav>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
