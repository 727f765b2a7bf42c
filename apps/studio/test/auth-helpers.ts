import type { StudioProcess } from "./studio-process.ts";

/** What Studio's sign-in page sends, from outside. */

export async function signIn(
  studio: StudioProcess,
  secret: string,
  options: { name?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  return fetch(`${studio.url}/api/auth/sign-in`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-studio-csrf": "1", ...options.headers },
    body: JSON.stringify({ secret, name: options.name ?? "Ada Lovelace" }),
  });
}

/** The `name=value` of the session cookie a response sets. */
export function sessionCookie(response: Response): string {
  const cookie = response.headers
    .getSetCookie()
    .find((c) => c.startsWith("studio_session="))
    ?.split(";")[0];
  if (!cookie) throw new Error(`no session cookie in a ${response.status} answer`);
  return cookie;
}

export async function signOut(studio: StudioProcess, cookie: string): Promise<Response> {
  return fetch(`${studio.url}/api/auth/sign-out`, {
    method: "POST",
    headers: { cookie, "x-studio-csrf": "1" },
  });
}

/** `GET /api/auth/session`'s status with this cookie: 200 signed in, 401 not. */
export async function sessionStatus(studio: StudioProcess, cookie: string): Promise<number> {
  const response = await fetch(`${studio.url}/api/auth/session`, { headers: { cookie } });
  await response.body?.cancel();
  return response.status;
}

/** The status of the REST list with this cookie: the session guards the API, not just the page. */
export async function listStatus(studio: StudioProcess, cookie: string): Promise<number> {
  const response = await fetch(`${studio.url}/api/platform/migrations`, { headers: { cookie } });
  await response.body?.cancel();
  return response.status;
}

export interface LogLine {
  event?: string;
  [key: string]: unknown;
}

/** The structured lines Studio printed for `event`. */
export function logLines(studio: StudioProcess, event: string): LogLine[] {
  return studio
    .output()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .flatMap((line): LogLine[] => {
      try {
        return [JSON.parse(line) as LogLine];
      } catch {
        return [];
      }
    })
    .filter((line) => line.event === event);
}

/** Polls `check` until it holds (what Studio does after answering), or fails with the last value. */
export async function eventually<T>(
  read: () => T | Promise<T>,
  check: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}
