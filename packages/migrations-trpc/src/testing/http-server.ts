import type { AddressInfo } from "node:net";
import { ACTOR_RULE } from "@studio/migrations-core/rules";
import { TRPCError } from "@trpc/server";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import { authenticateSecretHeaders } from "../context.ts";
import { MAX_BATCH_SIZE } from "../limits.ts";
import { createMigrationsRouter, type MigrationsRouterOptions } from "../router.ts";

export interface MigrationsHttpServer {
  /** Base URL, e.g. `http://127.0.0.1:43123`; tRPC is at `/api/trpc`, as in Studio. */
  url: string;
  close(): Promise<void>;
}

/**
 * A minimal HTTP host for the router on loopback, mounted where Studio mounts it, with the
 * secret-header authentication Studio uses. For tests of the typed client and the CLI.
 */
export async function startMigrationsHttpServer(
  options: MigrationsRouterOptions & { secret: string },
): Promise<MigrationsHttpServer> {
  const router = createMigrationsRouter(options);
  const server = createHTTPServer({
    router,
    basePath: "/api/trpc/",
    maxBatchSize: MAX_BATCH_SIZE,
    createContext: ({ req }) => {
      const auth = authenticateSecretHeaders(req.headers, options.secret);
      if (!auth.ok && auth.reason === "invalid_actor") {
        throw new TRPCError({
          code: "BAD_REQUEST",
          message: `x-migration-actor must be ${ACTOR_RULE}.`,
        });
      }
      return { actor: auth.ok ? auth.actor : null };
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
