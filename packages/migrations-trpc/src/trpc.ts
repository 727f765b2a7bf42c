import { isMigrationError } from "@studio/migrations-core";
import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import type { MigrationsContext } from "./context.ts";
import { migrationErrorData, toTRPCError } from "./errors.ts";
import { MAX_BATCH_SIZE } from "./limits.ts";

/**
 * superjson on the wire, except that an input carrying a `__proto__` key is refused: superjson
 * drops that key while decoding, so the strict schemas would never see it, and an `apply` whose
 * only field was an unknown `__proto__` would otherwise run as `{}` — apply everything pending.
 */
const transformer = {
  input: {
    serialize: (value: unknown) => superjson.serialize(value),
    deserialize: (value: unknown) => {
      if (hasProtoKey(value)) {
        throw new TRPCError({
          code: "BAD_REQUEST",
          message: 'Invalid input: unknown field "__proto__".',
        });
      }
      return superjson.deserialize(value as Parameters<typeof superjson.deserialize>[0]);
    },
  },
  output: superjson,
};

/** Whether `value` (a decoded JSON document) has an own `__proto__` key anywhere. */
function hasProtoKey(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item !== "object" || item === null) continue;
    if (Object.hasOwn(item, "__proto__")) return true;
    for (const child of Object.values(item)) stack.push(child);
  }
  return false;
}

/** tRPC's own words for a batch over `maxBatchSize`, which name no number. */
const BATCH_TOO_LARGE = "Batch call exceeds maximum size";

/** The one place procedures and middleware are built. */
const t = initTRPC.context<MigrationsContext>().create({
  transformer,
  // No stack traces leave the server, whatever NODE_ENV says.
  isDev: false,
  errorFormatter({ shape, error }) {
    const internal = error.code === "INTERNAL_SERVER_ERROR";
    const batchTooLarge = error.code === "BAD_REQUEST" && error.message === BATCH_TOO_LARGE;
    return {
      ...shape,
      message: internal
        ? "Internal error."
        : batchTooLarge
          ? `Too many calls in one request: a batch may hold at most ${MAX_BATCH_SIZE}.`
          : shape.message,
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
