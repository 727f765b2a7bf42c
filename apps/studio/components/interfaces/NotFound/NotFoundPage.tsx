import Link from "next/link";
import { useRouter } from "next/router";
import { useEffect, useState } from "react";
import { AppLayout } from "../../layout/AppLayout";
import { Icon } from "../../ui/Icon";

/** Studio's own 404, in Studio's frame, for anyone (signed in or not). */
export function NotFoundPage() {
  const router = useRouter();
  // The statically built page learns the address only in the browser.
  const [path, setPath] = useState<string | null>(null);
  useEffect(() => {
    if (router.isReady) setPath(router.asPath);
  }, [router.isReady, router.asPath]);

  return (
    <AppLayout title="Not found" requireSession={false}>
      <div
        data-testid="not-found"
        className="mx-auto flex max-w-lg flex-col items-center px-4 py-20 text-center"
      >
        <span className="flex size-10 items-center justify-center rounded-md border border-border-strong bg-surface-200">
          <Icon name="file-missing" className="size-5 text-foreground-light" />
        </span>
        <p className="mt-4 font-mono text-xs text-foreground-lighter">404</p>
        <h1 className="mt-1 text-xl font-medium text-foreground">Page not found</h1>
        <p className="mt-2 text-sm break-all text-foreground-light">
          {path ? (
            <>
              Nothing lives at <code className="font-mono text-foreground">{path}</code>.
            </>
          ) : (
            "Nothing lives at this address."
          )}
        </p>
        <div className="mt-6 flex flex-wrap justify-center gap-2">
          <Link
            href="/migrations"
            className="inline-flex h-[26px] items-center gap-1.5 rounded-md border border-brand/50 bg-brand-button px-2.5 text-xs font-medium text-white hover:bg-brand-button-hover focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-brand"
          >
            <Icon name="list" />
            Go to Migrations
          </Link>
          <Link
            href="/"
            className="inline-flex h-[26px] items-center gap-1.5 rounded-md border border-border-strong bg-surface-300 px-2.5 text-xs font-medium text-foreground hover:bg-[#323232] focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-brand"
          >
            <Icon name="home" />
            Home
          </Link>
        </div>
      </div>
    </AppLayout>
  );
}
