import { useQuery } from "@tanstack/react-query";
import { CSRF_HEADER } from "../../utils/trpc";

/** The browser's side of Studio's session endpoints (`/api/auth/*`). */

export interface Session {
  actor: string;
}

export const SESSION_QUERY_KEY = ["studio", "session"] as const;

/** The signed-in actor, or null when there is no valid session. */
export async function fetchSession(): Promise<Session | null> {
  const response = await fetch("/api/auth/session", {
    headers: CSRF_HEADER,
    credentials: "same-origin",
    cache: "no-store",
  });
  if (response.status === 401) return null;
  if (!response.ok) throw new Error(`Studio answered ${response.status} for the session.`);
  const body: unknown = await response.json();
  if (typeof body === "object" && body !== null && "actor" in body) {
    const { actor } = body;
    if (typeof actor === "string") return { actor };
  }
  throw new Error("Studio sent a session without an actor.");
}

export function useSession() {
  return useQuery({
    queryKey: SESSION_QUERY_KEY,
    queryFn: fetchSession,
    staleTime: 60_000,
    retry: 1,
  });
}

export type SignInResult =
  | { ok: true }
  | {
      ok: false;
      reason: "wrong_secret" | "invalid_name" | "throttled" | "unavailable";
      message: string;
    };

/** Never puts the secret into a message: a wrong secret gets the same fixed sentence every time. */
export async function signIn(secret: string, name: string): Promise<SignInResult> {
  let response: Response;
  try {
    response = await fetch("/api/auth/sign-in", {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", ...CSRF_HEADER },
      body: JSON.stringify({ secret, name }),
    });
  } catch {
    return { ok: false, reason: "unavailable", message: "Studio could not be reached. Try again." };
  }
  if (response.ok) return { ok: true };
  if (response.status === 401) {
    return { ok: false, reason: "wrong_secret", message: "That secret was not accepted." };
  }
  if (response.status === 400) {
    return { ok: false, reason: "invalid_name", message: await errorMessage(response) };
  }
  if (response.status === 429) {
    return { ok: false, reason: "throttled", message: throttledMessage(response) };
  }
  return {
    ok: false,
    reason: "unavailable",
    message: `Sign-in failed (HTTP ${response.status}). Try again in a moment.`,
  };
}

/** Whether Studio ended the session for good (the browser forgets it either way). */
export async function signOut(): Promise<boolean> {
  try {
    const response = await fetch("/api/auth/sign-out", {
      method: "POST",
      credentials: "same-origin",
      headers: CSRF_HEADER,
    });
    return response.ok;
  } catch {
    return false;
  }
}

/** Sign-in is paused for this address (SPEC §6); `Retry-After` says for how many seconds. */
function throttledMessage(response: Response): string {
  const seconds = Number(response.headers.get("retry-after"));
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? "" : "s"}`;
  const wait =
    Number.isFinite(seconds) && seconds > 0
      ? seconds < 60
        ? plural(Math.ceil(seconds), "second")
        : plural(Math.ceil(seconds / 60), "minute")
      : "a few minutes";
  return `Too many wrong secrets from this address: sign-in is paused. Try again in ${wait}.`;
}

async function errorMessage(response: Response): Promise<string> {
  const fallback = "Enter your name: it is recorded with every change you make.";
  try {
    const body: unknown = await response.json();
    if (typeof body === "object" && body !== null && "error" in body) {
      const { error } = body;
      if (typeof error === "string" && error.trim() !== "") return error;
    }
  } catch {
    // Not JSON: the fixed message is all there is to say.
  }
  return fallback;
}
