import Link from "next/link";
import { useRouter } from "next/router";
import { Icon } from "../ui/Icon";
import { isActive, PRODUCT_NAV } from "./product-nav";

interface NavLinksProps {
  /** `rail`: icons only below `lg` (labels for screen readers and on hover); `full`: always labelled. */
  variant: "rail" | "full";
  onNavigate?: () => void;
}

/** The product navigation's links, the current page marked for sight and for screen readers. */
export function NavLinks({ variant, onNavigate }: NavLinksProps) {
  const { pathname } = useRouter();
  return (
    <ul className="flex flex-col gap-0.5">
      {PRODUCT_NAV.map((item) => {
        const active = isActive(item, pathname);
        return (
          <li key={item.href}>
            <Link
              href={item.href}
              onClick={onNavigate}
              aria-current={active ? "page" : undefined}
              title={variant === "rail" ? item.label : undefined}
              data-testid={`nav-${item.label.toLowerCase()}`}
              className={`flex h-9 items-center gap-3 rounded-md px-2.5 text-sm transition-colors focus-visible:outline-2 focus-visible:outline-brand ${variant === "rail" ? "max-lg:justify-center max-lg:px-0" : ""} ${active ? "bg-surface-300 text-foreground" : "text-foreground-lighter hover:bg-surface-200 hover:text-foreground"}`}
            >
              <Icon
                name={item.icon}
                className={`size-4 ${active ? "text-brand" : "text-foreground-lighter"}`}
              />
              <span className={variant === "rail" ? "max-lg:sr-only" : ""}>{item.label}</span>
            </Link>
          </li>
        );
      })}
    </ul>
  );
}
