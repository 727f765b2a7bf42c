import type { MigrationsRouter } from "@studio/migrations-trpc";
import { MutationCache, QueryCache, QueryClient } from "@tanstack/react-query";
import {
  createTRPCClient,
  httpBatchLink,
  httpSubscriptionLink,
  isTRPCClientError,
  splitLink,
} from "@trpc/client";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";
import { createTRPCContext } from "@trpc/tanstack-react-query";
import Router from "next/router";
import superjson from "superjson";

/**
 * The browser's tRPC client (the starter's `utils/trpc.ts`): the router is imported as a type
 * only, so none of the server's code reaches the bundle.
 */
export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<MigrationsRouter>();

export type RouterInputs = inferRouterInputs<MigrationsRouter>;
export type RouterOutputs = inferRouterOutputs<MigrationsRouter>;

/**
 * Sent on every browser request: the server refuses cookie-authenticated mutations without it. A
 * cross-site form or `fetch` cannot set a custom header without a CORS preflight, which fails.
 */
export const CSRF_HEADER = { "x-studio-csrf": "1" } as const;

export const SIGN_IN_PATH = "/sign-in";

/** The HTTP status a failed tRPC call answered with, when the server gave one. */
export function httpStatusOf(error: unknown): number | null {
  if (!isTRPCClientError<MigrationsRouter>(error)) return null;
  return error.data?.httpStatus ?? null;
}

function isUnauthorized(error: unknown): boolean {
  return httpStatusOf(error) === 401;
}

/** A session that expired mid-use sends the operator back to sign in, wherever it is noticed. */
function redirectOnUnauthorized(error: unknown): void {
  if (!isUnauthorized(error) || typeof window === "undefined") return;
  if (window.location.pathname === SIGN_IN_PATH) return;
  void Router.replace({ pathname: SIGN_IN_PATH, query: { expired: "1" } });
}

export function makeQueryClient(): QueryClient {
  return new QueryClient({
    queryCache: new QueryCache({ onError: redirectOnUnauthorized }),
    mutationCache: new MutationCache({ onError: redirectOnUnauthorized }),
    defaultOptions: {
      queries: {
        staleTime: 5_000,
        // A 4xx will answer the same way again; only transient failures are worth a retry.
        retry: (failureCount, error) => {
          const status = httpStatusOf(error);
          return (status === null || status >= 500) && failureCount < 2;
        },
      },
      mutations: { retry: false },
    },
  });
}

export function makeTRPCClient() {
  return createTRPCClient<MigrationsRouter>({
    links: [
      splitLink({
        // `migrations.progress` streams over server-sent events: the browser's EventSource, with
        // the session cookie (same origin). It reconnects by itself, resuming after the last event.
        condition: (op) => op.type === "subscription",
        true: httpSubscriptionLink({ url: "/api/trpc", transformer: superjson }),
        false: httpBatchLink({
          url: "/api/trpc",
          transformer: superjson,
          headers: () => CSRF_HEADER,
        }),
      }),
    ],
  });
}
