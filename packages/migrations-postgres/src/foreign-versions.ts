import {
  ExecutorUnavailableError,
  ForeignHistoryNotFoundError,
  type ForeignHistorySource,
  type ForeignTable,
  foreignTableOf,
  isMigrationError,
  quoteIdentifier,
} from "@studio/migrations-core";
import { toSqlFailure } from "./sql-failure.ts";
import type { SqlQuery } from "./tracking-sql.ts";

/**
 * `adopt` (SPEC §4): the SQL that reads another tool's history table, shared by every executor.
 * Names reach the SQL only as parameters (or `E'…'` literals when inlined) in the lookup, and as
 * quoted identifiers — resolved from the catalog by the lookup — in the read: never unquoted.
 */

export interface LocatedRow {
  /** The schema looked in: the one named, else the connection's current schema (as dbmate). */
  schema: string;
  table_exists: boolean;
  has_version: boolean;
}

/**
 * One row: the schema the table is looked for in, and whether the table, and its `version`
 * column, are there. A table, partitioned table, view, materialized view or foreign table counts.
 */
export function locateForeignTable(table: ForeignTable): SqlQuery<LocatedRow> {
  return {
    sql: `select s.schema,
  exists (select 1 from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = s.schema and c.relname = $2 and c.relkind in ('r', 'p', 'v', 'm', 'f')) as table_exists,
  exists (select 1 from pg_catalog.pg_attribute a
      join pg_catalog.pg_class c on c.oid = a.attrelid
      join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = s.schema and c.relname = $2 and a.attname = 'version'
      and a.attnum > 0 and not a.attisdropped) as has_version
from (select coalesce($1::text, current_schema(), 'public') as schema) s`,
    parameters: [table.schema, table.name],
  };
}

/** Every version recorded in the table (found by {@link locateForeignTable}), as text. */
export function selectForeignVersions(schema: string, name: string): SqlQuery<{ version: string }> {
  return {
    sql: `select "version"::text as version from ${quoteIdentifier(schema)}.${quoteIdentifier(name)} where "version" is not null`,
    parameters: [],
  };
}

/**
 * Reads the versions with `run` (which runs one query on the executor's connection), or throws
 * `ForeignHistoryNotFoundError` when the table or its `version` column is not there.
 */
export async function readForeignVersionsWith(
  source: ForeignHistorySource,
  run: <R>(query: SqlQuery<R>) => Promise<R[]>,
): Promise<{ table: string; versions: string[] }> {
  const table = foreignTableOf(source);
  const [located] = await run(locateForeignTable(table));
  const schema = located?.schema ?? table.schema ?? "public";
  const qualified = `${schema}.${table.name}`;
  if (!located?.table_exists) throw new ForeignHistoryNotFoundError(source.kind, qualified);
  if (!located.has_version) {
    throw new ForeignHistoryNotFoundError(source.kind, qualified, "no_version_column");
  }
  const rows = await run(selectForeignVersions(schema, table.name));
  return { table: qualified, versions: rows.map((row) => String(row.version)) };
}

/**
 * Runs a read of another tool's history, turning anything but the core's own errors (a lost
 * connection, a permission refused) into `ExecutorUnavailableError` saying what was being read.
 */
export async function guardForeignRead<T>(
  source: ForeignHistorySource,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isMigrationError(error)) throw error;
    throw new ExecutorUnavailableError(
      `Could not read the ${source.kind} history${source.table === undefined ? "" : ` in ${source.table}`}: ${toSqlFailure(error).message}`,
      { cause: error },
    );
  }
}
