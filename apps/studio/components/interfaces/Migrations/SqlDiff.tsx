import { diffLines, foldUnchanged } from "./line-diff";

interface SqlDiffProps {
  /** What ran (`up_sql`). */
  before: string;
  /** The file's up section now. */
  after: string;
  className?: string;
}

const ROW_STYLES = {
  same: { sign: " ", className: "text-foreground-light" },
  removed: { sign: "−", className: "bg-destructive-subtle text-destructive" },
  added: { sign: "+", className: "bg-brand-subtle text-brand" },
} as const;

/**
 * What changed in a migration's up section since it ran: removed lines (only in what ran) and
 * added ones (only in the file), with line numbers of each side and long unchanged runs folded.
 */
export function SqlDiff({ before, after, className = "max-h-[50vh]" }: SqlDiffProps) {
  const lines = diffLines(before, after);
  const removed = lines.filter((l) => l.kind === "removed").length;
  const added = lines.filter((l) => l.kind === "added").length;
  const blocks = foldUnchanged(lines);
  return (
    <div className="space-y-2" data-testid="sql-diff">
      <p className="text-xs text-foreground-lighter" data-testid="sql-diff-summary">
        {removed === 0 && added === 0
          ? "No change but line endings: the SQL that ran and the file read the same."
          : `${added} line${added === 1 ? "" : "s"} added, ${removed} removed in the file since it ran.`}
      </p>
      <section
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard
        tabIndex={0}
        aria-label="Differences between the SQL that ran and the file"
        className={`overflow-auto rounded-md border border-border-default bg-canvas ${className}`}
      >
        <table className="w-max min-w-full border-collapse font-mono text-xs leading-5">
          <thead className="sr-only">
            <tr>
              <th scope="col">Line in the SQL that ran</th>
              <th scope="col">Line in the file</th>
              <th scope="col">Change</th>
              <th scope="col">Text</th>
            </tr>
          </thead>
          <tbody>
            {blocks.map((block) =>
              block.kind === "folded" ? (
                <tr key={`fold-${block.from}`} className="bg-surface-200 text-foreground-lighter">
                  <td colSpan={4} className="px-3 py-0.5 text-[11px]">
                    ⋯ {block.count} unchanged line{block.count === 1 ? "" : "s"}
                  </td>
                </tr>
              ) : (
                block.lines.map((line) => {
                  const style = ROW_STYLES[line.kind];
                  return (
                    <tr
                      key={`${line.oldLine ?? "-"}:${line.newLine ?? "-"}`}
                      data-kind={line.kind}
                      className={style.className}
                    >
                      <td className="w-10 px-2 text-right text-foreground-lighter select-none">
                        {line.oldLine ?? ""}
                      </td>
                      <td className="w-10 px-2 text-right text-foreground-lighter select-none">
                        {line.newLine ?? ""}
                      </td>
                      <td className="w-5 text-center select-none">
                        <span aria-hidden="true">{style.sign}</span>
                        <span className="sr-only">
                          {line.kind === "same"
                            ? "unchanged"
                            : line.kind === "added"
                              ? "added"
                              : "removed"}
                        </span>
                      </td>
                      <td className="pr-3 whitespace-pre">{line.text}</td>
                    </tr>
                  );
                })
              ),
            )}
          </tbody>
        </table>
      </section>
    </div>
  );
}
