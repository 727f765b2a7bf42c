import type {
  EventOutcome,
  MigrationAction,
  RecordedStatus,
  Resolution,
} from "@studio/migrations-core";
import type { ColumnType, Generated } from "kysely";

/** `platform.schema_migrations` (SPEC §3): one row per migration, its current state. */
export interface SchemaMigrationsTable {
  id: Generated<string>;
  migration_name: string;
  applied_at: ColumnType<Date, Date | string | undefined, Date | string>;
  applied_by: string | null;
  status: RecordedStatus;
  error_message: string | null;
  execution_time_ms: number | null;
  checksum: string | null;
  /** The up section exactly as it ran (CRLF kept); null for rows recorded without running it. */
  up_sql: string | null;
  /** Whether the attempt recorded ran in a transaction; null for bookkeeping and older rows. */
  transactional: boolean | null;
  rolled_back_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  rolled_back_by: string | null;
}

/** `platform.schema_migration_events` (SPEC §3): the append-only audit trail. */
export interface SchemaMigrationEventsTable {
  /** `bigint generated always as identity`; read as a string, since it can pass 2^53. */
  id: ColumnType<string, never, never>;
  migration_name: string;
  action: MigrationAction;
  outcome: EventOutcome;
  actor: string | null;
  at: ColumnType<Date, Date | string | undefined, never>;
  execution_time_ms: number | null;
  error_message: string | null;
  checksum: string | null;
  /** For a resolve, the resolution chosen; null for every other action. Added after 000. */
  resolution: Resolution | null;
}

/** The Kysely database type every executor queries the tracking tables through. */
export interface TrackingDatabase {
  "platform.schema_migrations": SchemaMigrationsTable;
  "platform.schema_migration_events": SchemaMigrationEventsTable;
}
