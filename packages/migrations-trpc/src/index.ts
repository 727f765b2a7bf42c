export {
  ACTOR_HEADER,
  authenticateSecretHeaders,
  createContextInner,
  DEFAULT_SECRET_ACTOR,
  type HeaderBag,
  isValidActor,
  type MigrationsContext,
  SECRET_HEADER,
  type SecretAuthentication,
  secretsMatch,
} from "./context.ts";
export {
  type MigrationErrorData,
  MigrationRunFailedError,
  migrationErrorData,
  TRPC_CODE,
  toTRPCError,
} from "./errors.ts";
export * from "./inputs.ts";
export { attemptLogLine } from "./logging.ts";
export {
  type Authorize,
  createMigrationsRouter,
  type MigrationsProcedure,
  type MigrationsRouter,
  type MigrationsRouterOptions,
} from "./router.ts";
export { createCallerFactory } from "./trpc.ts";
