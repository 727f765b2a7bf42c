export { query, withClient } from "./connection.ts";
export {
  type CreateTestDatabaseOptions,
  createTestDatabase,
  dropRunDatabases,
  RUN_ID_ENV,
  testRunId,
} from "./database.ts";
export { type EmbeddedPostgresOptions, startEmbeddedPostgres } from "./embedded.ts";
export { type PgMetaOptions, startPgMeta } from "./pg-meta.ts";
export { findFreePort, findFreePortPair, isPortFree } from "./ports.ts";
export { ADMIN_URL_ENV, getTestServer, KIND_ENV } from "./server.ts";
export type { PgMetaServer, TestDatabase, TestServer, TestServerKind } from "./types.ts";
