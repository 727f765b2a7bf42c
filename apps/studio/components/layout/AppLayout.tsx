import Head from "next/head";
import { useRouter } from "next/router";
import { type ReactNode, useEffect } from "react";
import { SIGN_IN_PATH } from "../../utils/trpc";
import { useSession } from "../auth/session";
import { Alert } from "../ui/Alert";
import { Button } from "../ui/Button";
import { Spinner } from "../ui/Spinner";
import { AppHeader } from "./AppHeader";

interface AppLayoutProps {
  /** The page's name: the document title and the breadcrumb's last step. */
  title: string;
  children: ReactNode;
}

/** The signed-in frame: nothing inside renders, and nothing is fetched, without a session. */
export function AppLayout({ title, children }: AppLayoutProps) {
  const router = useRouter();
  const session = useSession();
  const signedOut = session.isSuccess && session.data === null;

  useEffect(() => {
    if (signedOut) void router.replace(SIGN_IN_PATH);
  }, [signedOut, router]);

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
      {session.data ? (
        <div className="flex min-h-dvh flex-col">
          <AppHeader actor={session.data.actor} page={title} />
          <main id="main" className="flex-1">
            {children}
          </main>
        </div>
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
