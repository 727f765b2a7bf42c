const ROWS = ["a", "b", "c", "d", "e", "f"];

/** Placeholder rows while the list loads, the shape of what is coming. */
export function MigrationsSkeleton() {
  return (
    <div aria-busy="true" data-testid="migrations-loading" className="space-y-4">
      <span className="sr-only">Loading migrations…</span>
      <div className="h-[66px] animate-pulse rounded-md border border-border-default bg-surface-100 motion-reduce:animate-none" />
      <div className="overflow-hidden rounded-md border border-border-default bg-surface-100">
        {ROWS.map((row) => (
          <div
            key={row}
            className="flex items-center gap-4 border-b border-border-default px-4 py-3 last:border-b-0"
          >
            <div className="h-3 w-56 max-w-[50%] animate-pulse rounded bg-surface-300 motion-reduce:animate-none" />
            <div className="h-3 w-16 animate-pulse rounded-full bg-surface-300 motion-reduce:animate-none" />
            <div className="ml-auto h-3 w-24 animate-pulse rounded bg-surface-300 motion-reduce:animate-none" />
          </div>
        ))}
      </div>
    </div>
  );
}
