import { useState } from "react";
import { Button } from "../../ui/Button";
import { CodeBlock } from "../../ui/CodeBlock";
import { DialogShell } from "../../ui/DialogShell";
import { Icon } from "../../ui/Icon";
import type { MigrationView } from "./Migrations.types";

interface SqlDialogProps {
  /** The migration whose up SQL to show; null closes the dialog. */
  view: MigrationView | null;
  onClose: () => void;
}

/** A pending migration's up SQL, read-only, for review before applying. */
export function SqlDialog({ view, onClose }: SqlDialogProps) {
  const [copied, setCopied] = useState(false);
  const sql = view?.upSql ?? "";

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(sql);
      setCopied(true);
      window.setTimeout(() => setCopied(false), 1_500);
    } catch {
      // Clipboard refused (insecure context, permissions): the SQL stays selectable by hand.
    }
  };

  return (
    <DialogShell
      open={view !== null}
      onOpenChange={(open) => {
        if (!open) {
          setCopied(false);
          onClose();
        }
      }}
      size="large"
      data-testid="sql-dialog"
      title={<span className="font-mono text-sm break-all">{view?.name}</span>}
      description={
        view?.transactional === false
          ? "The up section, as it will run: outside a transaction."
          : "The up section, as it will run: in one transaction with its tracking row."
      }
      footer={
        <>
          <Button variant="ghost" icon={<Icon name="copy" />} onClick={copy} aria-live="polite">
            {copied ? "Copied" : "Copy SQL"}
          </Button>
          <Button variant="default" onClick={onClose} data-testid="sql-dialog-close">
            Close
          </Button>
        </>
      }
    >
      <CodeBlock
        code={sql}
        label={`Up SQL of ${view?.name ?? "the migration"}`}
        className="max-h-[60vh]"
        data-testid="sql-dialog-content"
      />
    </DialogShell>
  );
}
