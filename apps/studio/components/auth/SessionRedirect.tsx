import Head from "next/head";
import { useRouter } from "next/router";
import { useEffect } from "react";
import { SIGN_IN_PATH } from "../../utils/trpc";
import { Spinner } from "../ui/Spinner";
import { useSession } from "./session";

/** `/`: the Migrations page when signed in, sign-in otherwise. */
export function SessionRedirect() {
  const router = useRouter();
  const session = useSession();
  const target = session.isPending ? null : session.data ? "/migrations" : SIGN_IN_PATH;

  useEffect(() => {
    if (target) void router.replace(target);
  }, [target, router]);

  return (
    <>
      <Head>
        <title>Studio</title>
      </Head>
      <main className="flex min-h-dvh items-center justify-center gap-2 text-sm text-foreground-light">
        <Spinner />
        Opening Studio…
      </main>
    </>
  );
}
