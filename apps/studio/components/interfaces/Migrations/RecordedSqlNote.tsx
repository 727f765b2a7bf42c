import type { MigrationSql, MigrationView } from "./Migrations.types";

interface RecordedSqlNoteProps {
  sql: MigrationSql;
  view: Pick<MigrationView, "state" | "rolledBackAt"> | null;
}

/**
 * Why there is no SQL-that-ran to show: the database's executor does not keep it, or nothing ran
 * (a baseline, an adopt, a resolve, a failure inside a transaction, never applied).
 */
export function RecordedSqlNote({ sql, view }: RecordedSqlNoteProps) {
  return (
    <p
      data-testid="sql-not-recorded"
      className="rounded-md border border-dashed border-border-strong px-3 py-2 text-xs text-foreground-light"
    >
      <span className="font-medium text-foreground">Not recorded. </span>
      {notRecordedReason(sql, view)}
    </p>
  );
}

function notRecordedReason(sql: MigrationSql, view: RecordedSqlNoteProps["view"]): string {
  if (!sql.recordedUpReadable) {
    return "This database's executor does not return the SQL it ran, so only the file can be shown: compare it by hand with what you expect ran.";
  }
  if (view?.state === "applied") {
    return "It was recorded as applied without running here (a baseline, an adopt or a resolve), so no SQL ran to keep.";
  }
  if (view?.state === "pending" && view.rolledBackAt === null) {
    return "It has not run on this database.";
  }
  return "Nothing of its last attempt was kept (a failure inside a transaction leaves nothing behind).";
}
