import { Icon } from "../../ui/Icon";

/** No migration files and nothing recorded. */
export function MigrationsEmptyState() {
  return (
    <div
      data-testid="migrations-empty"
      className="flex flex-col items-center rounded-md border border-dashed border-border-strong bg-surface-100 px-6 py-12 text-center"
    >
      <span className="flex size-10 items-center justify-center rounded-md border border-border-strong bg-surface-200">
        <Icon name="database" className="size-5 text-foreground-light" />
      </span>
      <h2 className="mt-4 text-sm font-medium text-foreground">No migrations yet</h2>
      <p className="mt-1 max-w-md text-sm text-foreground-light">
        Migrations are SQL files in dbmate&apos;s format in the migrations directory, named by a
        number and a name, like{" "}
        <code className="font-mono text-xs whitespace-nowrap text-foreground">
          008_add_active_org_tracking.sql
        </code>
        . Create the next one with{" "}
        <code className="font-mono text-xs whitespace-nowrap text-foreground">
          npx studio-migrate new &lt;name&gt;
        </code>
        ; Studio reads the directory afresh, so it appears here without a restart.
      </p>
    </div>
  );
}
