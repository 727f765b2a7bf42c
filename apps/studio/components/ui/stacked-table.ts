/**
 * Class names for a table that is a table from `md` up and a stack of cards below it: every cell
 * becomes a line with its column's name (from `data-label`) on the left. One DOM for both, so test
 * hooks and screen readers see the same rows at every width.
 */
export const STACKED_TABLE =
  "w-full border-collapse text-sm max-md:block md:[&>tbody>tr:last-child>*]:border-b-0";

export const STACKED_HEAD = "max-md:sr-only";

export const STACKED_HEAD_CELL =
  "border-b border-border-default bg-surface-200 px-4 py-2 text-left text-xs font-medium whitespace-nowrap text-foreground-lighter";

export const STACKED_BODY = "max-md:flex max-md:flex-col max-md:gap-2";

export const STACKED_ROW =
  "transition-colors md:hover:bg-surface-200 max-md:block max-md:rounded-md max-md:border max-md:border-border-default max-md:bg-surface-100 max-md:px-4 max-md:py-3";

export const STACKED_CELL =
  "px-4 py-2.5 align-top md:align-middle md:border-b md:border-border-default max-md:flex max-md:min-w-0 max-md:items-start max-md:justify-between max-md:gap-4 max-md:px-0 max-md:py-1 max-md:text-right max-md:before:shrink-0 max-md:before:text-left max-md:before:text-xs max-md:before:text-foreground-lighter max-md:before:content-[attr(data-label)]";

/** The row's title cell: a full-width heading of the card. */
export const STACKED_TITLE_CELL =
  "px-4 py-2.5 text-left align-top font-normal md:align-middle md:border-b md:border-border-default max-md:block max-md:px-0 max-md:pt-0 max-md:pb-2";

/** A full-width cell below the others (actions, long text). */
export const STACKED_WIDE_CELL =
  "px-4 py-2.5 align-top md:align-middle md:border-b md:border-border-default max-md:block max-md:px-0 max-md:pt-2 max-md:pb-0";

/** A full-width line just under the card's title, without a label (a name too long for a line). */
export const STACKED_SUBTITLE_CELL =
  "px-4 py-2.5 align-top md:align-middle md:border-b md:border-border-default max-md:block max-md:px-0 max-md:pt-0 max-md:pb-2";

/** A column that gives way between a card and a wide table (`md` to `lg`); a card still shows it. */
export const HIDE_IN_NARROW_TABLE = "md:max-lg:hidden";
