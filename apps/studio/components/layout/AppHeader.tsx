import Link from "next/link";
import { MobileNav } from "./MobileNav";
import { SignOutButton } from "./SignOutButton";
import { StudioLogo } from "./StudioLogo";

interface AppHeaderProps {
  /** The signed-in operator; null on a page open to anyone (the 404), signed out. */
  actor: string | null;
  /** The current page, last in the breadcrumb. */
  page: string;
}

export function AppHeader({ actor, page }: AppHeaderProps) {
  return (
    <header className="sticky top-0 z-30 border-b border-border-default bg-surface-100/95 backdrop-blur">
      <div className="flex h-12 items-center gap-3 px-4 md:px-6">
        <MobileNav />
        <Link
          href="/"
          className="flex items-center gap-2 rounded-md text-sm font-medium text-foreground focus-visible:outline-2 focus-visible:outline-brand"
        >
          <StudioLogo />
          Studio
        </Link>
        <nav aria-label="Breadcrumb" className="min-w-0 max-sm:hidden">
          <ol className="flex items-center gap-2 text-sm text-foreground-lighter">
            <li aria-hidden="true">/</li>
            <li className="truncate">Platform database</li>
            <li aria-hidden="true">/</li>
            <li aria-current="page" className="truncate text-foreground">
              {page}
            </li>
          </ol>
        </nav>
        <div className="ml-auto flex min-w-0 items-center gap-2">
          {actor ? (
            <>
              <span
                className="flex min-w-0 items-center gap-2 rounded-full border border-border-strong bg-surface-200 py-0.5 pr-2.5 pl-0.5 text-xs text-foreground-light"
                title={`Signed in as ${actor}: every change you make is recorded under this name`}
              >
                <span
                  aria-hidden="true"
                  className="flex size-5 shrink-0 items-center justify-center rounded-full bg-brand-button text-[10px] font-semibold text-white uppercase"
                >
                  {actor.trim().charAt(0)}
                </span>
                <span className="sr-only">Signed in as </span>
                <span
                  data-testid="actor-name"
                  className="max-w-28 truncate text-foreground sm:max-w-60"
                >
                  {actor}
                </span>
              </span>
              <SignOutButton />
            </>
          ) : (
            <Link
              href="/sign-in"
              className="rounded-md px-2.5 py-1 text-xs text-foreground-light hover:bg-surface-300 hover:text-foreground focus-visible:outline-2 focus-visible:outline-brand"
            >
              Sign in
            </Link>
          )}
        </div>
      </div>
    </header>
  );
}
