import { ACTOR_RULE, isValidActor, MAX_ACTOR_LENGTH } from "@studio/migrations-core/rules";
import { useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/router";
import { type FormEvent, useRef, useState } from "react";
import { SESSION_QUERY_KEY, signIn } from "../../auth/session";
import { Alert } from "../../ui/Alert";
import { Button } from "../../ui/Button";
import { TextField } from "../../ui/TextField";

/** The migration secret and the operator's name; the name is the actor of every change. */
export function SignInForm() {
  const router = useRouter();
  const queryClient = useQueryClient();
  const secretRef = useRef<HTMLInputElement>(null);
  const [secret, setSecret] = useState("");
  const [name, setName] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [submitting, setSubmitting] = useState(false);

  const onSubmit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (!isValidActor(name.trim())) {
      setError(`Enter your name (${ACTOR_RULE}): it is recorded with every change you make.`);
      return;
    }
    setSubmitting(true);
    setError(null);
    const result = await signIn(secret, name.trim());
    if (result.ok) {
      queryClient.removeQueries({ queryKey: SESSION_QUERY_KEY });
      await router.replace("/migrations");
      return;
    }
    setSubmitting(false);
    setError(result.message);
    if (result.reason === "wrong_secret") {
      setSecret("");
      secretRef.current?.focus();
    }
  };

  const secretRejected = error !== null && secret === "";

  return (
    <form onSubmit={onSubmit} className="space-y-4">
      <TextField
        ref={secretRef}
        label="Migration secret"
        type="password"
        name="secret"
        autoComplete="current-password"
        required
        autoFocus
        value={secret}
        onChange={(event) => setSecret(event.target.value)}
        aria-invalid={secretRejected || undefined}
        data-testid="signin-secret"
      />
      <TextField
        label="Your name"
        type="text"
        name="name"
        autoComplete="name"
        required
        maxLength={MAX_ACTOR_LENGTH}
        spellCheck={false}
        value={name}
        onChange={(event) => setName(event.target.value)}
        description="Recorded as the actor of every change you make."
        data-testid="signin-name"
      />
      {error ? <Alert tone="danger" role="alert" title={error} data-testid="signin-error" /> : null}
      <Button
        type="submit"
        variant="primary"
        size="small"
        loading={submitting}
        className="w-full"
        data-testid="signin-submit"
      >
        {submitting ? "Signing in…" : "Sign in"}
      </Button>
    </form>
  );
}
