import {
  createTRPCClient,
  httpBatchLink,
  httpSubscriptionLink,
  splitLink,
  type TRPCClient,
} from "@trpc/client";
import type { EventSourceLike } from "@trpc/server/unstable-core-do-not-import";
import superjson from "superjson";
import { MAX_BATCH_SIZE } from "./limits.ts";

export { DEFAULT_HEARTBEAT_MS, MAX_HEARTBEAT_MS, MIN_HEARTBEAT_MS } from "./limits.ts";

import { ACTOR_HEADER, SECRET_HEADER } from "./context.ts";
import type { MigrationsRouter } from "./router.ts";

export interface MigrationsClientOptions {
  /** Studio's base URL, e.g. `https://studio.example`. */
  url: string;
  /** `MIGRATION_SECRET`. */
  secret: string;
  /** Recorded as the actor of every change (`x-migration-actor`). */
  actor?: string;
  /** Where Studio mounts tRPC. Default `/api/trpc`. */
  path?: string;
  /** A `fetch` of your own (tests count requests with it). */
  fetch?: LinkFetch;
  /**
   * For subscriptions (`migrations.progress`, over server-sent events): an `EventSource` class
   * that takes a `fetch` of its own in its init — the `eventsource` package's does (Node 20 has
   * no `EventSource`, and a browser's cannot send the secret header) — and that `fetch`, which
   * must stream the response body. The secret and actor headers are added to its requests.
   * Without it, a subscription fails.
   */
  eventSource?: {
    EventSource: EventSourceLike.AnyConstructor;
    fetch: (url: string | URL, init: { headers: Record<string, string> }) => Promise<unknown>;
  };
}

type LinkFetch = NonNullable<Parameters<typeof httpBatchLink<MigrationsRouter>>[0]["fetch"]>;

export type MigrationsClient = TRPCClient<MigrationsRouter>["migrations"];

/** A typed client for server-to-server calls to a running Studio, inferred from the router. */
export function createMigrationsClient(options: MigrationsClientOptions): MigrationsClient {
  const headers: Record<string, string> = { [SECRET_HEADER]: options.secret };
  if (options.actor !== undefined) headers[ACTOR_HEADER] = options.actor;
  const base = options.url.endsWith("/") ? options.url : `${options.url}/`;
  const url = new URL((options.path ?? "/api/trpc").replace(/^\//, ""), base).toString();
  const calls = httpBatchLink({
    url,
    transformer: superjson,
    headers: () => headers,
    // Studio refuses larger batches (400): never send one.
    maxItems: MAX_BATCH_SIZE,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
  const eventSource = options.eventSource;
  const client = createTRPCClient<MigrationsRouter>({
    links: [
      eventSource === undefined
        ? calls
        : splitLink({
            condition: (op) => op.type === "subscription",
            true: httpSubscriptionLink({
              url,
              transformer: superjson,
              EventSource: eventSource.EventSource,
              eventSourceOptions: {
                fetch: (input: string | URL, init: { headers: Record<string, string> }) =>
                  eventSource.fetch(input, { ...init, headers: { ...init.headers, ...headers } }),
              },
            }),
            false: calls,
          }),
    ],
  });
  return client.migrations;
}
