import type { IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { ACTOR_RULE } from "@studio/migrations-core/rules";
import { TRPCError } from "@trpc/server";
import { createHTTPServer } from "@trpc/server/adapters/standalone";
import { authenticateSecretHeaders, type MigrationsContext, SECRET_HEADER } from "../context.ts";
import { MAX_BATCH_SIZE } from "../limits.ts";
import { createMigrationsRouter, type MigrationsRouterOptions } from "../router.ts";

export interface MigrationsHttpServer {
  /** Base URL, e.g. `http://127.0.0.1:43123`; tRPC is at `/api/trpc`, as in Studio. */
  url: string;
  close(): Promise<void>;
}

export interface MigrationsHttpServerOptions {
  /** The secret `x-migration-secret` must carry; a function when a test rotates it. */
  secret: string | (() => string);
  /**
   * Authenticates a request without the secret header (a host's sessions): its context, with
   * the `stillAuthorized` that re-checks it, or null to refuse it.
   */
  authenticate?: (headers: IncomingHttpHeaders) => Promise<MigrationsContext | null>;
}

/**
 * A minimal HTTP host for the router on loopback, mounted where Studio mounts it, with the
 * secret-header authentication Studio uses — re-checked against the current secret while a
 * progress stream stays open. For tests of the typed client and the CLI.
 */
export async function startMigrationsHttpServer(
  options: MigrationsRouterOptions & MigrationsHttpServerOptions,
): Promise<MigrationsHttpServer> {
  const router = createMigrationsRouter(options);
  const secret = () => (typeof options.secret === "string" ? options.secret : options.secret());
  const server = createHTTPServer({
    router,
    basePath: "/api/trpc/",
    maxBatchSize: MAX_BATCH_SIZE,
    createContext: async ({ req }): Promise<MigrationsContext> => {
      if (req.headers[SECRET_HEADER] === undefined && options.authenticate) {
        return (await options.authenticate(req.headers)) ?? { actor: null };
      }
      const auth = authenticateSecretHeaders(req.headers, secret());
      if (!auth.ok && auth.reason === "invalid_actor") {
        throw new TRPCError({
          code: "BAD_REQUEST",
          message: `x-migration-actor must be ${ACTOR_RULE}.`,
        });
      }
      if (!auth.ok) return { actor: null };
      return {
        actor: auth.actor,
        stillAuthorized: async () => authenticateSecretHeaders(req.headers, secret()).ok,
      };
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
