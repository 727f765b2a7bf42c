import { isMigrationError } from "@studio/migrations-core";
import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import type { MigrationsContext } from "./context.ts";
import { migrationErrorData, toTRPCError } from "./errors.ts";

/** The one place procedures and middleware are built. */
const t = initTRPC.context<MigrationsContext>().create({
  transformer: superjson,
  // No stack traces leave the server, whatever NODE_ENV says.
  isDev: false,
  errorFormatter({ shape, error }) {
    const internal = error.code === "INTERNAL_SERVER_ERROR";
    return {
      ...shape,
      message: internal ? "Internal error." : shape.message,
      data: { ...shape.data, stack: undefined, migration: migrationErrorData(error) },
    };
  },
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Turns the core's typed errors into tRPC errors with the status SPEC §5 gives them. */
const mapMigrationErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && isMigrationError(result.error.cause)) throw toTRPCError(result.error.cause);
  return result;
});

/** Every procedure requires an authenticated actor. */
export const authedProcedure = t.procedure.use(mapMigrationErrors).use(({ ctx, next }) => {
  if (ctx.actor === null) {
    throw new TRPCError({
      code: "UNAUTHORIZED",
      message: "Authentication required: send x-migration-secret, or sign in to Studio.",
    });
  }
  return next({ ctx: { actor: ctx.actor } });
});
