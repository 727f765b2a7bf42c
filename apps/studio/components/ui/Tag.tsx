interface TagProps {
  children: string;
  /** The longer explanation, on hover. */
  title: string;
}

export function Tag({ children, title }: TagProps) {
  return (
    <span
      title={title}
      className="rounded border border-border-strong px-1.5 py-px text-[11px] leading-4 whitespace-nowrap text-foreground-lighter"
    >
      {children}
    </span>
  );
}
