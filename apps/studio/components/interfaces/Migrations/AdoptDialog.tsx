import { useEffect, useState } from "react";
import { Alert } from "../../ui/Alert";
import { Button } from "../../ui/Button";
import { DialogShell } from "../../ui/DialogShell";
import { TextField } from "../../ui/TextField";
import type { ForeignTool, RunRequest } from "./Migrations.types";
import { FOREIGN_TOOL_LABELS } from "./Migrations.utils";

interface AdoptDialogProps {
  open: boolean;
  actor: string | null;
  onCancel: () => void;
  onConfirm: (run: RunRequest) => void;
}

const DEFAULT_TABLES: Record<ForeignTool, string> = {
  dbmate: "schema_migrations",
  supabase: "supabase_migrations.schema_migrations",
};

const TOOL_NOTES: Record<ForeignTool, string> = {
  dbmate:
    "Reads the versions dbmate recorded in schema_migrations (in the connection's current schema, usually public), or in the table dbmate was given with --migrations-table.",
  supabase:
    "Reads the versions the Supabase CLI recorded in supabase_migrations.schema_migrations (supabase db push, supabase migration up).",
};

/**
 * "Adopt history": a database migrated by another tool keeps its history. Each version that tool
 * recorded and a migration file here has is recorded as applied, without running it.
 */
export function AdoptDialog({ open, actor, onCancel, onConfirm }: AdoptDialogProps) {
  const [tool, setTool] = useState<ForeignTool>("dbmate");
  const [table, setTable] = useState("");

  useEffect(() => {
    if (!open) return;
    setTool("dbmate");
    setTable("");
  }, [open]);

  const trimmed = table.trim();
  return (
    <DialogShell
      open={open}
      onOpenChange={(next) => {
        if (!next) onCancel();
      }}
      data-testid="adopt-dialog"
      title="Adopt the history of another migration tool"
      description={
        <>
          For a database that dbmate or the Supabase CLI migrated: every version it recorded that a
          migration file here has is recorded as applied, without running it, as a baseline event
          saying where it came from. Versions without a file here are listed, not recorded.
          {actor ? (
            <>
              {" "}
              Recorded in the history as{" "}
              <span className="font-medium text-foreground">{actor}</span>.
            </>
          ) : null}
        </>
      }
      footer={
        <>
          <Button variant="default" onClick={onCancel} data-testid="adopt-cancel">
            Cancel
          </Button>
          <Button
            variant="warning"
            onClick={() =>
              onConfirm({
                kind: "adopt",
                input: { from: tool, ...(trimmed === "" ? {} : { table: trimmed }) },
                names: [],
              })
            }
            data-testid="adopt-confirm"
          >
            Adopt history from {FOREIGN_TOOL_LABELS[tool]}
          </Button>
        </>
      }
    >
      <div className="space-y-4">
        <fieldset className="space-y-2">
          <legend className="text-sm text-foreground-light">Migrated by</legend>
          {(["dbmate", "supabase"] as const).map((option) => (
            <label
              key={option}
              className="flex cursor-pointer items-start gap-2 rounded-md border border-border-default bg-surface-100 px-3 py-2 has-[:checked]:border-brand/70"
            >
              <input
                type="radio"
                name="adopt-tool"
                value={option}
                checked={tool === option}
                onChange={() => setTool(option)}
                className="mt-1 accent-brand"
                data-testid={`adopt-tool-${option}`}
              />
              <span>
                <span className="block text-sm text-foreground">{FOREIGN_TOOL_LABELS[option]}</span>
                <span className="block text-xs text-foreground-lighter">{TOOL_NOTES[option]}</span>
              </span>
            </label>
          ))}
        </fieldset>
        <TextField
          label="History table (optional)"
          description={`Default: ${DEFAULT_TABLES[tool]}. A table name, optionally schema-qualified (schema.table).`}
          placeholder={DEFAULT_TABLES[tool]}
          value={table}
          onChange={(event) => setTable(event.target.value)}
          spellCheck={false}
          autoComplete="off"
          data-testid="adopt-table"
        />
        <Alert tone="warning" title="Only for migrations that really ran">
          Adopting records migrations as applied without checking the schema. Run it against the
          database that tool migrated, with the same migration files.
        </Alert>
      </div>
    </DialogShell>
  );
}
