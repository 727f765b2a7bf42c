export {
  refusalOf,
  STANDBY_CHECK_SQL,
  standbyRefusal,
  TARGET_CHECK_SQL,
  type TargetCheckRow,
  targetRefusal,
} from "./database-refusals.ts";
export {
  createPgMetaExecutor,
  type PgMetaExecutorOptions,
} from "./pg-meta/pg-meta-executor.ts";
export {
  DATA_DIRECTORY_LOCK_FILE,
  type DataDirectoryHolder,
  DataDirectoryInUseError,
  type DataDirectoryLock,
  lockDataDirectory,
} from "./pglite/data-dir-lock.ts";
export {
  createPGliteExecutor,
  openPGliteExecutor,
  type PGliteDataDirectoryOptions,
  type PGliteExecutorOptions,
} from "./pglite/pglite-executor.ts";
export {
  createPostgresExecutor,
  type PostgresExecutorOptions,
} from "./postgres/postgres-executor.ts";
export {
  parseRehearsalBatch,
  readRelationSizesOver,
  rehearsalBatch,
  rehearseOver,
} from "./rehearsal.ts";
export {
  MAX_RELATION_NAMES,
  parseRelationSizes,
  relationSizesSql,
} from "./relation-sizes.ts";
export { DEFAULT_TIMEOUTS, type Timeouts } from "./sql-failure.ts";
export {
  DEFAULT_THROTTLE_POLICY,
  type SignInGate,
  STUDIO_AUTH_SCHEMA,
  StudioAuthStore,
  type StudioAuthStoreOptions,
  StudioAuthStoreUnavailableError,
  type ThrottlePolicy,
  type WrongSecretVia,
} from "./studio-auth-store.ts";
export type {
  SchemaMigrationEventsTable,
  SchemaMigrationsTable,
  TrackingDatabase,
} from "./tracking-database.ts";
export { TRACKING_TABLES_SQL } from "./tracking-schema.ts";
export { type Answer, type Session, type Transport, transportOf } from "./transport.ts";
export { UnitExecutor, type UnitExecutorOptions } from "./unit-executor.ts";
