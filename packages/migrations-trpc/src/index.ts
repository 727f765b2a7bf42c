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
export { MAX_BATCH_SIZE } from "./limits.ts";
export { attemptLogLine } from "./logging.ts";
export {
  AUTH_RECHECK_MS,
  DEFAULT_HEARTBEAT_MS,
  type HeartbeatEvent,
  KEPT_EVENTS_PER_RUN,
  KEPT_RUNS,
  MAX_HEARTBEAT_MS,
  MIN_HEARTBEAT_MS,
  type ProgressEvent,
  ProgressHub,
  type ProgressStreamOptions,
  progressStream,
  type RunningMigration,
  STREAM_UNAUTHORIZED_MESSAGE,
} from "./progress.ts";
export {
  RECORDED_POLL_MS,
  type RecordedEventsReader,
  type RecordedMigrationEvent,
  RecordedProgress,
  type RecordedStepResult,
  recordedEvent,
} from "./recorded-progress.ts";
export {
  type Authorize,
  createMigrationsRouter,
  type MigrationsProcedure,
  type MigrationsRouter,
  type MigrationsRouterOptions,
} from "./router.ts";
export { createCallerFactory } from "./trpc.ts";
