import { NavLinks } from "./NavLinks";

/**
 * Supabase Studio's left sidebar: the product's pages with icons, labelled on wide screens and
 * collapsed to an icon rail on narrower ones; on a phone it moves behind the header's menu button
 * (`MobileNav`). The column runs the page's full height; the links stay in view as it scrolls.
 */
export function AppSidebar() {
  return (
    <div className="hidden w-14 shrink-0 border-r border-border-default bg-surface-100 md:block lg:w-52">
      <nav aria-label="Product" data-testid="sidebar" className="sticky top-12 px-2 py-3">
        <p className="mb-2 px-2.5 text-[11px] font-medium tracking-wide text-foreground-lighter uppercase max-lg:sr-only">
          Platform database
        </p>
        <NavLinks variant="rail" />
      </nav>
    </div>
  );
}
