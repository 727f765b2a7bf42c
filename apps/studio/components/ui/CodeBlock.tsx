interface CodeBlockProps {
  code: string;
  /** A label for screen readers: what this code is. */
  label: string;
  className?: string;
  "data-testid"?: string;
}

/**
 * SQL shown exactly as it will run: preserved whitespace, monospace, scrolling inside its own box
 * (both ways) so a long statement never widens the page. Focusable, so keyboard users can scroll it.
 */
export function CodeBlock({
  code,
  label,
  className = "max-h-80",
  "data-testid": testId,
}: CodeBlockProps) {
  return (
    <section
      // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard
      tabIndex={0}
      aria-label={label}
      data-testid={testId}
      className={`overflow-auto rounded-md border border-border-default bg-canvas ${className}`}
    >
      <pre className="w-max min-w-full p-3 font-mono text-xs leading-5 text-foreground">
        <code>{code}</code>
      </pre>
    </section>
  );
}
