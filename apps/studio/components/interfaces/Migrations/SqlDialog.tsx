import { skipToken, useQuery } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useTRPC } from "../../../utils/trpc";
import { Alert } from "../../ui/Alert";
import { Button } from "../../ui/Button";
import { CodeBlock } from "../../ui/CodeBlock";
import { DialogShell } from "../../ui/DialogShell";
import { Icon } from "../../ui/Icon";
import { Spinner } from "../../ui/Spinner";
import { type TabDefinition, Tabs } from "../../ui/Tabs";
import { differs } from "./line-diff";
import type { MigrationSql, MigrationView } from "./Migrations.types";
import { describeError, FRESH_SQL } from "./Migrations.utils";
import { RecordedSqlNote } from "./RecordedSqlNote";
import { SqlDiff } from "./SqlDiff";

/** `up`: the file's up section; `applied`: what ran; `changes`: the two compared; `down`. */
export type SqlTab = "up" | "applied" | "changes" | "down";

export interface SqlDialogTarget {
  view: MigrationView;
  /** The tab to open on; by default the one that matters most for the row's state. */
  tab?: SqlTab;
}

interface SqlDialogProps {
  target: SqlDialogTarget | null;
  onClose: () => void;
}

/**
 * A migration's SQL, fetched when opened (the list carries none): the file's up and down
 * sections, the up section as it ran, and — for a drifted migration — the difference between them.
 */
export function SqlDialog({ target, onClose }: SqlDialogProps) {
  const trpc = useTRPC();
  const view = target?.view ?? null;
  const sql = useQuery({
    ...trpc.migrations.sql.queryOptions(view ? { migrationName: view.name } : skipToken),
    // Read afresh at every opening: a file edited since must never show as it was.
    ...FRESH_SQL,
  });
  // The tab the operator picked; until then the target's, or the one that matters most.
  const [chosen, setChosen] = useState<SqlTab | null>(null);
  const [copied, setCopied] = useState(false);

  useEffect(() => {
    if (target === null) return;
    setChosen(null);
    setCopied(false);
  }, [target]);

  const data = sql.data;
  const tabs = data && view ? tabsFor(view, data) : [];
  const wanted = chosen ?? target?.tab ?? (data && view ? defaultTab(view, data) : "up");
  const shown = tabs.some((t) => t.id === wanted) ? wanted : (tabs[0]?.id ?? "up");
  const text = data ? textOf(data, shown) : null;

  const copy = async () => {
    if (text === null) return;
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
      window.setTimeout(() => setCopied(false), 1_500);
    } catch {
      // Clipboard refused (insecure context, permissions): the SQL stays selectable by hand.
    }
  };

  return (
    <DialogShell
      open={target !== null}
      onOpenChange={(open) => {
        if (!open) onClose();
      }}
      size="large"
      data-testid="sql-dialog"
      title={<span className="font-mono text-sm break-all">{view?.name}</span>}
      description={view ? describe(view) : ""}
      footer={
        <>
          {text !== null && shown !== "changes" ? (
            <Button variant="ghost" icon={<Icon name="copy" />} onClick={copy} aria-live="polite">
              {copied ? "Copied" : "Copy SQL"}
            </Button>
          ) : null}
          <Button variant="default" onClick={onClose} data-testid="sql-dialog-close">
            Close
          </Button>
        </>
      }
    >
      {sql.isPending ? (
        <p className="flex items-center gap-2 py-6 text-foreground-light">
          <Spinner />
          Loading the SQL…
        </p>
      ) : sql.isError ? (
        <Alert
          tone="danger"
          role="alert"
          title="The SQL could not be loaded"
          actions={<Button onClick={() => void sql.refetch()}>Try again</Button>}
        >
          {describeError(sql.error, "Loading the SQL").message}
        </Alert>
      ) : data && view ? (
        <Tabs label={`SQL of ${view.name}`} tabs={tabs} value={shown} onChange={setChosen}>
          <TabPanel sql={data} view={view} tab={shown} />
        </Tabs>
      ) : null}
    </DialogShell>
  );
}

function TabPanel({ sql, view, tab }: { sql: MigrationSql; view: MigrationView; tab: SqlTab }) {
  switch (tab) {
    case "up":
      return sql.up === null ? (
        <MissingFile />
      ) : (
        <Section
          note={
            view.state === "applied"
              ? "The up section in the file now."
              : sql.transactional
                ? "The up section, as it will run: in one transaction with its tracking row."
                : "The up section, as it will run: outside a transaction, statement by statement."
          }
        >
          <CodeBlock
            code={sql.up}
            label={`Up SQL of ${view.name}`}
            className="max-h-[55vh]"
            data-testid="sql-dialog-content"
          />
        </Section>
      );
    case "applied":
      return sql.recordedUp === null ? (
        <RecordedSqlNote sql={sql} view={view} />
      ) : (
        <Section note="The up section exactly as it was sent to the database when it last ran.">
          <CodeBlock
            code={sql.recordedUp}
            label={`SQL that ran for ${view.name}`}
            className="max-h-[55vh]"
            data-testid="sql-applied"
          />
        </Section>
      );
    case "changes":
      return sql.recordedUp === null || sql.up === null ? (
        <div className="space-y-3">
          {sql.recordedUp === null ? <RecordedSqlNote sql={sql} view={view} /> : <MissingFile />}
        </div>
      ) : (
        <SqlDiff before={sql.recordedUp} after={sql.up} />
      );
    case "down":
      return sql.down === null ? (
        sql.up === null ? (
          <MissingFile />
        ) : (
          <p
            data-testid="sql-no-down"
            className="rounded-md border border-dashed border-border-strong px-3 py-2 text-xs text-foreground-light"
          >
            No down section: it can only be marked rolled back (after undoing it by hand).
          </p>
        )
      ) : (
        <Section
          note={
            sql.downTransactional
              ? "The down section, as a rollback runs it: in a transaction."
              : "The down section, as a rollback runs it: outside a transaction."
          }
        >
          <CodeBlock
            code={sql.down}
            label={`Down SQL of ${view.name}`}
            className="max-h-[55vh]"
            data-testid="sql-down"
          />
        </Section>
      );
  }
}

function Section({ note, children }: { note: string; children: React.ReactNode }) {
  return (
    <div className="space-y-2">
      <p className="text-xs text-foreground-lighter">{note}</p>
      {children}
    </div>
  );
}

function MissingFile() {
  return (
    <p
      data-testid="sql-missing-file"
      className="rounded-md border border-dashed border-warning-border px-3 py-2 text-xs text-foreground-light"
    >
      Its file is missing from the migrations directory: there is no section to show.
    </p>
  );
}

function tabsFor(view: MigrationView, sql: MigrationSql): TabDefinition<SqlTab>[] {
  const changed =
    view.checksum.state === "drift" ||
    (sql.recordedUp !== null && sql.up !== null && differs(sql.recordedUp, sql.up));
  const ran = view.state !== "pending" || view.rolledBackAt !== null || sql.recordedUp !== null;
  return [
    { id: "up", label: view.state === "applied" ? "Up (file)" : "Up" },
    ...(ran ? [{ id: "applied" as const, label: "Applied SQL" }] : []),
    ...(changed
      ? [{ id: "changes" as const, label: "Changes since applied", badge: "drift" }]
      : []),
    { id: "down", label: "Down" },
  ];
}

function defaultTab(view: MigrationView, sql: MigrationSql): SqlTab {
  if (view.checksum.state === "drift") return "changes";
  if (view.state === "applied" && sql.recordedUp !== null) return "applied";
  return sql.up === null && sql.recordedUp !== null ? "applied" : "up";
}

function textOf(sql: MigrationSql, tab: SqlTab): string | null {
  switch (tab) {
    case "up":
      return sql.up;
    case "applied":
      return sql.recordedUp;
    case "down":
      return sql.down;
    case "changes":
      return null;
  }
}

function describe(view: MigrationView): string {
  if (view.missing) return "Recorded in the database; its file is gone.";
  if (view.checksum.state === "drift")
    return "Applied, and changed on disk since: compare before accepting.";
  if (view.state === "applied") return "Applied: the SQL that ran, and the file's sections.";
  return view.transactional
    ? "Pending: runs in one transaction with its tracking row."
    : "Pending: runs outside a transaction.";
}
