/** A dash for "nothing here" that a screen reader reads as a word. */
export function EmptyValue() {
  return (
    <span className="text-xs text-foreground-lighter">
      <span aria-hidden="true">—</span>
      <span className="sr-only">none</span>
    </span>
  );
}
