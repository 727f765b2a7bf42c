import type { IconName } from "../ui/Icon";

export interface NavItem {
  href: string;
  label: string;
  icon: IconName;
}

/** The product's pages, in the sidebar's order. */
export const PRODUCT_NAV: readonly NavItem[] = [
  { href: "/", label: "Home", icon: "home" },
  { href: "/migrations", label: "Migrations", icon: "list" },
];

/** Whether `item` is the page at `pathname` (Next's route, e.g. `/migrations`). */
export function isActive(item: NavItem, pathname: string): boolean {
  return item.href === "/" ? pathname === "/" : pathname.startsWith(item.href);
}
