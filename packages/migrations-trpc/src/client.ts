import { createTRPCClient, httpBatchLink, type TRPCClient } from "@trpc/client";
import superjson from "superjson";
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
}

type LinkFetch = NonNullable<Parameters<typeof httpBatchLink<MigrationsRouter>>[0]["fetch"]>;

export type MigrationsClient = TRPCClient<MigrationsRouter>["migrations"];

/** A typed client for server-to-server calls to a running Studio, inferred from the router. */
export function createMigrationsClient(options: MigrationsClientOptions): MigrationsClient {
  const headers: Record<string, string> = { [SECRET_HEADER]: options.secret };
  if (options.actor !== undefined) headers[ACTOR_HEADER] = options.actor;
  const base = options.url.endsWith("/") ? options.url : `${options.url}/`;
  const client = createTRPCClient<MigrationsRouter>({
    links: [
      httpBatchLink({
        url: new URL((options.path ?? "/api/trpc").replace(/^\//, ""), base).toString(),
        transformer: superjson,
        headers: () => headers,
        ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
      }),
    ],
  });
  return client.migrations;
}
