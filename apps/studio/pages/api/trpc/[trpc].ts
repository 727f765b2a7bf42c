import { MAX_BATCH_SIZE } from "@studio/migrations-trpc";
import { TRPCError } from "@trpc/server";
import { createNextApiHandler } from "@trpc/server/adapters/next";
import type { NextApiRequest, NextApiResponse } from "next";
import { identifyCaller } from "../../../server/auth.ts";
import { studioMigrations } from "../../../server/migrations.ts";

/**
 * Studio's tRPC endpoint: `/api/trpc/migrations.{list,apply,rollback,history,baseline,resolve,…}`,
 * and `migrations.progress`, a subscription served as server-sent events (a GET that stays open;
 * tRPC flushes each event, and its `Cache-Control: no-transform` keeps compression from
 * buffering them).
 */
export default async function handler(req: NextApiRequest, res: NextApiResponse) {
  const { router } = await studioMigrations();
  return createNextApiHandler({
    router,
    createContext: async ({ req }) => {
      const who = await identifyCaller(req);
      // A progress stream asks again while it stays open: signing out ends it.
      if (who.ok) return { actor: who.actor, stillAuthorized: who.stillAuthorized };
      if (who.status === 401) return { actor: null }; // each procedure answers 401 itself
      throw new TRPCError({
        code:
          who.status === 403
            ? "FORBIDDEN"
            : who.status === 503
              ? "SERVICE_UNAVAILABLE"
              : "BAD_REQUEST",
        message: who.message,
      });
    },
    // Body limit as on the REST routes; tRPC answers 413 in its own JSON error shape.
    maxBodySize: 64 * 1024,
    // One request is at most this many calls: a 400 naming the limit beyond it.
    maxBatchSize: MAX_BATCH_SIZE,
    onError: ({ error }) => {
      if (error.code === "INTERNAL_SERVER_ERROR") console.error(error.cause ?? error);
    },
  })(req, res);
}

// tRPC reads the body itself: Next's parser would answer bad JSON and big bodies with plain text
// ("Invalid JSON"), not tRPC's JSON error shape.
// A progress stream stays open as long as its client listens: no response size to warn about.
export const config = { api: { bodyParser: false, responseLimit: false } };
