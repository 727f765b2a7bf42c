import { Button } from "../../ui/Button";
import { Icon } from "../../ui/Icon";
import { Menu, type MenuItem } from "../../ui/Menu";
import type { MigrationView } from "./Migrations.types";
import type { SqlTab } from "./SqlDialog";

/** What a row may do now, as the table works it out from the whole list. */
export interface RowPermissions {
  /** Only the first pending migration may be applied on its own. */
  canApply: boolean;
  /** Why Apply is not possible now (shown in the menu), when it is not. */
  applyBlockedReason: string | null;
  /** Only the most recently applied migration may be rolled back. */
  canRollback: boolean;
  /** An applied migration with others applied after it: "Roll back to here" undoes those. */
  canRollbackTo: boolean;
  /** A pending migration with a file: "Baseline up to here" records it and those before it. */
  canBaseline: boolean;
  /** Why a baseline is refused now (a failed or interrupted migration), when it is. */
  baselineBlockedReason: string | null;
  /** A pending migration with a file: "Rehearse up to here" runs it and those before it, rolled back. */
  canRehearse: boolean;
}

export interface RowActionHandlers {
  onViewSql: (view: MigrationView, tab?: SqlTab) => void;
  onApply: (view: MigrationView) => void;
  onRollback: (view: MigrationView) => void;
  onRollbackTo: (view: MigrationView) => void;
  onBaseline: (view: MigrationView) => void;
  onRehearse: (view: MigrationView) => void;
}

interface RowActionsProps {
  view: MigrationView;
  locked: boolean;
  permissions: RowPermissions;
  handlers: RowActionHandlers;
}

/**
 * A row's actions: the one that matters now as a button (Apply on the next pending migration,
 * Roll back on the newest applied one), and every action in the "⋯" menu — so a row's actions
 * take little width and are all reachable at any width.
 */
export function RowActions({ view, locked, permissions, handlers }: RowActionsProps) {
  const pending = view.state === "pending" && !view.missing;
  const applyLabel = view.outOfOrder ? "Apply out of order" : "Apply";
  const rollbackLabel = view.hasDown ? "Roll back" : "Mark rolled back";
  const items: MenuItem[] = [
    {
      id: "view-sql",
      label: "View SQL",
      icon: "code",
      description:
        view.state === "applied" ? "The SQL that ran, the file, the down section" : undefined,
      onSelect: () => handlers.onViewSql(view),
      "data-testid": `menu-view-sql-${view.name}`,
    },
  ];
  if (view.checksum.state === "drift") {
    items.push({
      id: "view-diff",
      label: "Compare with what ran",
      icon: "diff",
      description: "What changed in the file since it was applied",
      onSelect: () => handlers.onViewSql(view, "changes"),
      "data-testid": `menu-view-diff-${view.name}`,
    });
  }
  if (pending) {
    items.push(
      {
        id: "apply",
        label: applyLabel,
        icon: "play",
        disabled: locked || !permissions.canApply,
        description: permissions.canApply
          ? undefined
          : (permissions.applyBlockedReason ?? undefined),
        onSelect: () => handlers.onApply(view),
        "data-testid": `menu-apply-${view.name}`,
      },
      {
        id: "rehearse",
        label: "Rehearse up to here",
        icon: "flask",
        disabled: locked || !permissions.canRehearse,
        description: permissions.canRehearse
          ? "Run it and the pending ones before it in a transaction that is rolled back: times and locks"
          : (permissions.applyBlockedReason ?? undefined),
        onSelect: () => handlers.onRehearse(view),
        "data-testid": `menu-rehearse-${view.name}`,
      },
      {
        id: "baseline",
        label: "Baseline up to here",
        icon: "flag",
        disabled: locked || !permissions.canBaseline,
        description: permissions.canBaseline
          ? "Record it and the pending ones before it as applied, running nothing"
          : (permissions.baselineBlockedReason ?? undefined),
        onSelect: () => handlers.onBaseline(view),
        "data-testid": `menu-baseline-${view.name}`,
      },
    );
  }
  if (view.state === "applied") {
    items.push({
      id: "rollback",
      label: rollbackLabel,
      icon: "undo",
      tone: "danger",
      disabled: locked || !permissions.canRollback,
      description: permissions.canRollback
        ? undefined
        : "Only the most recently applied migration can be rolled back on its own",
      onSelect: () => handlers.onRollback(view),
      "data-testid": `menu-rollback-${view.name}`,
    });
    if (permissions.canRollbackTo) {
      items.push({
        id: "rollback-to",
        label: "Roll back to here",
        icon: "undo",
        tone: "danger",
        disabled: locked,
        description: "Roll back every migration applied after this one; it stays applied",
        onSelect: () => handlers.onRollbackTo(view),
        "data-testid": `menu-rollback-to-${view.name}`,
      });
    }
  }

  return (
    <span className="flex items-center justify-end gap-1.5 max-md:justify-start">
      {pending && permissions.canApply ? (
        <Button
          variant="primary"
          icon={<Icon name="play" />}
          disabled={locked}
          onClick={() => handlers.onApply(view)}
          data-testid={`apply-${view.name}`}
          aria-label={`${applyLabel} ${view.name}`}
        >
          {applyLabel}
        </Button>
      ) : null}
      {view.state === "applied" && permissions.canRollback ? (
        <Button
          variant="default"
          icon={<Icon name="undo" />}
          disabled={locked}
          onClick={() => handlers.onRollback(view)}
          data-testid={`rollback-${view.name}`}
          aria-label={`${rollbackLabel} ${view.name}`}
        >
          {rollbackLabel}
        </Button>
      ) : null}
      <Menu
        label={`Actions for ${view.name}`}
        narrowText="Actions"
        items={items}
        data-testid={`row-menu-${view.name}`}
      />
    </span>
  );
}
