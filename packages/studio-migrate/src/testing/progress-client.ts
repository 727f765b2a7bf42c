import { createMigrationsClient, type MigrationsClient } from "@studio/migrations-trpc/client";
import { EventSource } from "eventsource";
import { createNodeHttpFetch, createNodeStreamFetch } from "../node-http-fetch.ts";

/**
 * A typed client for a running Studio that can subscribe to `migrations.progress`, made the way
 * the CLI makes its own (the `eventsource` package over `node:http`), for tests that watch a run.
 */
export function progressClient(url: string, secret: string, actor?: string): MigrationsClient {
  return createMigrationsClient({
    url,
    secret,
    ...(actor === undefined ? {} : { actor }),
    fetch: createNodeHttpFetch({ answerWithinMs: 30_000 }),
    eventSource: { EventSource, fetch: createNodeStreamFetch({ answerWithinMs: 30_000 }) },
  });
}
