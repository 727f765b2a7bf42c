import Head from "next/head";
import { useRouter } from "next/router";
import { type ReactNode, useEffect } from "react";
import { SIGN_IN_PATH } from "../../utils/trpc";
import { useSession } from "../auth/session";
import { Alert } from "../ui/Alert";
import { Button } from "../ui/Button";
import { Spinner } from "../ui/Spinner";
import { AppHeader } from "./AppHeader";
import { AppSidebar } from "./AppSidebar";

interface AppLayoutProps {
  /** The page's name: the document title and the breadcrumb's last step. */
  title: string;
  children: ReactNode;
  /**
   * Default: nothing inside renders, and nothing is fetched, without a session (signed out, the
   * visitor goes to sign in). `false`: the frame and the page render for anyone (the 404).
   */
  requireSession?: boolean;
}

/** Studio's frame: the header, the product sidebar, and the page. */
export function AppLayout({ title, children, requireSession = true }: AppLayoutProps) {
  const router = useRouter();
  const session = useSession();
  const signedOut = session.isSuccess && session.data === null;

  useEffect(() => {
    if (requireSession && signedOut) void router.replace(SIGN_IN_PATH);
  }, [requireSession, signedOut, router]);

  const frame = (content: ReactNode) => (
    <div className="flex min-h-dvh flex-col">
      <AppHeader actor={session.data?.actor ?? null} page={title} />
      <div className="flex min-w-0 flex-1">
        <AppSidebar />
        <main id="main" className="min-w-0 flex-1">
          {content}
        </main>
      </div>
    </div>
  );

  return (
    <>
      <Head>
        <title>{`${title} · Studio`}</title>
      </Head>
      <a
        href="#main"
        className="sr-only z-50 rounded-md bg-brand-button px-3 py-2 text-sm text-white focus:not-sr-only focus:fixed focus:top-2 focus:left-2"
      >
        Skip to content
      </a>
      {!requireSession || session.data ? (
        frame(children)
      ) : session.isError ? (
        <main id="main" className="mx-auto max-w-md px-4 py-24">
          <Alert
            tone="danger"
            role="alert"
            title="Studio could not check your session"
            actions={<Button onClick={() => void session.refetch()}>Try again</Button>}
          >
            {session.error.message}
          </Alert>
        </main>
      ) : (
        <main
          id="main"
          className="flex min-h-dvh items-center justify-center gap-2 text-sm text-foreground-light"
        >
          <Spinner />
          {signedOut ? "Taking you to sign in…" : "Checking your session…"}
        </main>
      )}
    </>
  );
}
