import { useState } from "react";

/** The length at which the core cuts a statement it reports (`REHEARSED_STATEMENT_CHARACTERS`). */
const REPORTED_CHARACTERS = 200;

interface StatementTextProps {
  /** The statement as a rehearsal reports it: white space collapsed, cut at 200 characters. */
  text: string;
  migrationName: string;
  /** Opens the migration's SQL: the statement in full, where the report cut it. */
  onViewSql: (migrationName: string) => void;
}

/**
 * A statement on one line, cut to the width there is; pressed, it opens to the whole text as the
 * report has it, and where the report itself cut it, offers the migration's SQL.
 */
export function StatementText({ text, migrationName, onViewSql }: StatementTextProps) {
  const [open, setOpen] = useState(false);
  const cut = text.endsWith("…") && [...text].length >= REPORTED_CHARACTERS;
  return (
    <span className="block min-w-0">
      <button
        type="button"
        aria-expanded={open}
        title={open ? "Show on one line" : "Show the whole statement"}
        onClick={() => setOpen((was) => !was)}
        data-testid="statement-text"
        className={`block w-full rounded-sm text-left font-mono text-xs text-foreground decoration-foreground-lighter underline-offset-2 hover:underline focus-visible:outline-2 focus-visible:outline-brand ${open ? "whitespace-pre-wrap break-words" : "truncate"}`}
      >
        {text}
      </button>
      {open && cut ? (
        <span className="mt-1 block text-[11px] text-foreground-lighter">
          Cut at {REPORTED_CHARACTERS} characters.{" "}
          <button
            type="button"
            onClick={() => onViewSql(migrationName)}
            data-testid="statement-view-sql"
            className="rounded-sm text-brand-link underline-offset-2 hover:underline focus-visible:outline-2 focus-visible:outline-brand"
          >
            View the migration's SQL
          </button>
        </span>
      ) : null}
    </span>
  );
}
