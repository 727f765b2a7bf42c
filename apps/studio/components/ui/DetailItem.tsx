interface DetailItemProps {
  term: string;
  value: string;
  mono?: boolean;
}

/** One term and its value, inside a `<dl>` laid out as a two-column grid. */
export function DetailItem({ term, value, mono = false }: DetailItemProps) {
  return (
    <>
      <dt className="text-foreground-lighter">{term}</dt>
      <dd className={`min-w-0 break-words text-foreground-light ${mono ? "font-mono" : ""}`}>
        {value}
      </dd>
    </>
  );
}
