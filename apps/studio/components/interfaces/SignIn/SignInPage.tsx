import Head from "next/head";
import { useRouter } from "next/router";
import { StudioLogo } from "../../layout/StudioLogo";
import { Alert } from "../../ui/Alert";
import { SignInForm } from "./SignInForm";

export function SignInPage() {
  const router = useRouter();
  const expired = router.query.expired === "1";
  return (
    <>
      <Head>
        <title>Sign in · Studio</title>
      </Head>
      <main className="flex min-h-dvh flex-col items-center justify-center px-4 py-12">
        <div className="w-full max-w-sm">
          <div className="mb-8 flex items-center gap-2 text-base font-medium text-foreground">
            <StudioLogo />
            Studio
          </div>
          <h1 className="text-2xl font-medium text-foreground">Sign in</h1>
          <p className="mt-2 text-sm text-foreground-light">
            Enter this Studio's migration secret to manage the platform database's migrations.
          </p>
          {expired ? (
            <Alert
              tone="info"
              role="status"
              title="Your session has ended. Sign in again to continue."
              className="mt-6"
              data-testid="signin-expired"
            />
          ) : null}
          <div className="mt-6 rounded-lg border border-border-default bg-surface-100 p-5 shadow-lg shadow-black/20">
            <SignInForm />
          </div>
          <p className="mt-6 text-xs text-foreground-lighter">
            The secret is the{" "}
            <code className="font-mono text-foreground-light">MIGRATION_SECRET</code> Studio was
            started with. Without one, on the embedded database or in development, Studio generates
            one, prints it on its first start and keeps it in its data directory.
          </p>
        </div>
      </main>
    </>
  );
}
