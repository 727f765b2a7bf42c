import { InvalidInputError } from "./errors.ts";
import {
  FOREIGN_TABLE_NAME,
  FOREIGN_TABLE_RULE,
  FOREIGN_TOOLS,
  type ForeignTool,
} from "./rules.ts";

/**
 * `adopt` (SPEC §4): the history another migration tool kept in the database, read so that a
 * database it migrated keeps its history when this engine takes over.
 */

/** Where to read another tool's history. */
export interface ForeignHistorySource {
  kind: ForeignTool;
  /**
   * The table holding its `version` column: `table` or `schema.table`, each part as the tool
   * wrote it (quoted, case kept — as dbmate's `--migrations-table` does). Default: dbmate's
   * `schema_migrations` in the connection's current schema (the first schema of its
   * `search_path` that exists: `public` unless configured otherwise), the Supabase CLI's
   * `supabase_migrations.schema_migrations`.
   */
  table?: string | undefined;
}

/** A table to read, resolved from a source: `schema` null is the connection's current schema. */
export interface ForeignTable {
  schema: string | null;
  name: string;
}

/** What an executor read: the table as resolved (schema-qualified), and every version in it. */
export interface ForeignVersions {
  table: string;
  versions: string[];
}

export function isForeignTool(value: unknown): value is ForeignTool {
  return typeof value === "string" && (FOREIGN_TOOLS as readonly string[]).includes(value);
}

/** The table `adopt` reads for `source`, or `InvalidInputError` for a tool or name it refuses. */
export function foreignTableOf(source: ForeignHistorySource): ForeignTable {
  if (!isForeignTool(source.kind)) {
    throw new InvalidInputError(
      `Cannot adopt the history of "${String(source.kind)}": adopt reads ${FOREIGN_TOOLS.join(" or ")}.`,
    );
  }
  if (source.table === undefined) {
    return source.kind === "dbmate"
      ? { schema: null, name: "schema_migrations" }
      : { schema: "supabase_migrations", name: "schema_migrations" };
  }
  if (!FOREIGN_TABLE_NAME.test(source.table)) {
    throw new InvalidInputError(
      `table "${source.table}" is not a table name: ${FOREIGN_TABLE_RULE}.`,
    );
  }
  const [first, second] = source.table.split(".") as [string, string | undefined];
  return second === undefined ? { schema: null, name: first } : { schema: first, name: second };
}

/** An identifier as a quoted SQL identifier: never spliced into SQL any other way. */
export function quoteIdentifier(name: string): string {
  if (name.includes("\u0000")) throw new InvalidInputError("An identifier cannot contain NUL.");
  return `"${name.replaceAll('"', '""')}"`;
}

/** How a tool is named to an operator. */
export function foreignToolLabel(kind: ForeignTool): string {
  return kind === "dbmate" ? "dbmate" : "the Supabase CLI";
}

/**
 * What a `baseline` event written by `adopt` says, in its `error_message` column (the audit
 * trail's only free-text column; on a succeeded event it carries this note, never an error).
 */
export function adoptedNote(kind: ForeignTool, table: string, version: string): string {
  return `adopted from ${kind} (${table}, version ${version})`;
}
