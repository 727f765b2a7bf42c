/** Where the CLI writes and what it reads from its process: passed in, so `main` stays testable. */
export interface Io {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  stdout: OutStream;
  stderr: OutStream;
}

export interface OutStream {
  write(text: string): unknown;
  isTTY?: boolean | undefined;
  columns?: number | undefined;
}

export function processIo(): Io {
  return {
    env: process.env,
    cwd: process.cwd(),
    stdout: quietWhenClosed(process.stdout),
    stderr: quietWhenClosed(process.stderr),
  };
}

/**
 * `studio-migrate history | head` closes the pipe early: the rest of the output has no reader,
 * which is not a failure of the command (its exit code still says how the command went).
 */
function quietWhenClosed(stream: NodeJS.WriteStream): OutStream {
  let closed = false;
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") throw error;
    closed = true;
  });
  return {
    write: (text: string) => (closed ? false : stream.write(text)),
    isTTY: stream.isTTY,
    columns: stream.columns,
  };
}

export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
}

const plain: Style = {
  bold: (t) => t,
  dim: (t) => t,
  red: (t) => t,
  green: (t) => t,
  yellow: (t) => t,
};

const sgr = (open: number, close: number) => (text: string) =>
  text === "" ? text : `\u001b[${open}m${text}\u001b[${close}m`;

const ansi: Style = {
  bold: sgr(1, 22),
  dim: sgr(2, 22),
  red: sgr(31, 39),
  green: sgr(32, 39),
  yellow: sgr(33, 39),
};

/** Colour only for a person at a terminal who has not opted out (https://no-color.org). */
function styleFor(stream: OutStream, env: Io["env"]): Style {
  const optedOut = (env.NO_COLOR ?? "") !== "" || env.TERM === "dumb";
  return stream.isTTY === true && !optedOut ? ansi : plain;
}

/**
 * Human output on stdout, reasons on stderr. With `--json`, stdout carries exactly one JSON
 * document (written by `main`), so the human lines are dropped; stderr still gets the reason.
 */
export class Printer {
  readonly out: Style;
  readonly err: Style;
  /** Columns to lay out in: the terminal's, or 80 when stdout is not a terminal. */
  readonly width: number;

  constructor(
    private readonly io: Io,
    readonly json: boolean,
  ) {
    this.out = styleFor(io.stdout, io.env);
    this.err = styleFor(io.stderr, io.env);
    const columns = io.stdout.isTTY ? io.stdout.columns : undefined;
    this.width = Math.max(60, columns ?? 80);
  }

  line(text = ""): void {
    if (!this.json) this.io.stdout.write(`${text}\n`);
  }

  lines(texts: readonly string[]): void {
    for (const text of texts) this.line(text);
  }

  /** A sentence or two, word-wrapped to the width. */
  paragraph(text: string, indent = ""): void {
    this.lines(wrap(text, this.width, indent));
  }

  error(text: string): void {
    this.io.stderr.write(`${text}\n`);
  }

  document(value: unknown): void {
    this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }
}

/** `12 ms`, `4.2 s`, `3m 07s`: short enough for a column, exact enough to spot the slow one. */
export function formatDuration(ms: number | null): string {
  if (ms === null) return "";
  // Postgres reports whole milliseconds; 0 means "under one".
  if (ms < 1) return "<1 ms";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return `${minutes}m ${String(seconds).padStart(2, "0")}s`;
}

/** UTC, so that operators in different time zones read the same times as the database shows. */
export function formatTime(date: Date | null, withSeconds = false): string {
  if (date === null) return "";
  const iso = date.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, withSeconds ? 19 : 16)}`;
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** Visible width: colour codes take no columns. */
function visible(text: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching the escape codes is the point
  return text.replace(/\u001b\[[0-9;]*m/g, "").length;
}

function truncate(text: string, width: number): string {
  if (text.length <= width) return text;
  return width <= 1 ? text.slice(0, width) : `${text.slice(0, width - 1)}…`;
}

/**
 * Word-wraps `text` to `width` columns, indenting every line after the first by `indent`. A
 * command quoted in backticks is never split, so it can be copied from the terminal as a whole.
 */
export function wrap(text: string, width: number, indent = ""): string[] {
  const words = text.match(/`[^`]*`\S*|\S+/g) ?? [];
  const lines: string[] = [];
  let current = "";
  for (const word of words) {
    const candidate = current === "" ? word : `${current} ${word}`;
    const limit = width - (lines.length === 0 ? 0 : indent.length);
    if (current !== "" && candidate.length > limit) {
      lines.push(current);
      current = word;
    } else {
      current = candidate;
    }
  }
  if (current !== "") lines.push(current);
  return lines.map((line, i) => (i === 0 ? line : `${indent}${line}`));
}

export interface Column {
  header: string;
  align?: "left" | "right";
  /** May be cut short (with …) to fit the width: for free text like an actor name. */
  elastic?: boolean;
  /** Goes to an indented second line when one line per row does not fit. */
  secondary?: boolean;
}

/**
 * A plain-text table that fits `width`. Names are never cut: when a row does not fit on one line
 * even with the elastic columns shortened, the secondary columns move to an indented second line.
 * `paint` colours a cell after layout, so colour codes never disturb alignment.
 */
export function renderTable(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
  width: number,
  paint: (row: number, column: number, text: string) => string = (_r, _c, t) => t,
): string[] {
  const all = columns.map((_, i) => i);
  const oneLine = layout(all, columns, rows, width, "");
  if (oneLine) return draw(oneLine, columns, rows, "", paint, false);

  const primary = all.filter((i) => !columns[i]?.secondary);
  const secondary = all.filter((i) => columns[i]?.secondary);
  const indent = "    ";
  const first = layout(primary, columns, rows, width, "") ?? natural(primary, columns, rows);
  const second =
    layout(secondary, columns, rows, width, indent) ?? natural(secondary, columns, rows);
  const head1 = draw(first, columns, [], "", paint, true);
  const head2 = second.length === 0 ? [] : draw(second, columns, [], indent, paint, true);
  const out = [...head1, ...head2];
  rows.forEach((row, r) => {
    out.push(...draw(first, columns, [row], "", (_r, c, t) => paint(r, c, t), false).slice(1));
    if (second.length > 0 && secondary.some((i) => (row[i] ?? "") !== "")) {
      out.push(
        ...draw(second, columns, [row], indent, (_r, c, t) => paint(r, c, t), false).slice(1),
      );
    }
  });
  return out;
}

type Layout = { index: number; width: number }[];

function natural(
  indexes: number[],
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
): Layout {
  return indexes.map((index) => ({
    index,
    width: Math.max(
      columns[index]?.header.length ?? 0,
      ...rows.map((row) => (row[index] ?? "").length),
    ),
  }));
}

const GAP = 2;

function layout(
  indexes: number[],
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
  width: number,
  indent: string,
): Layout | null {
  // Columns empty in every row are dropped rather than drawn as blank space.
  const cells = natural(indexes, columns, rows).filter(
    ({ index }) => rows.length === 0 || rows.some((row) => (row[index] ?? "") !== ""),
  );
  const total = () =>
    indent.length + cells.reduce((sum, c) => sum + c.width, 0) + GAP * (cells.length - 1);
  let excess = total() - width;
  if (excess <= 0) return cells;
  for (const cell of cells) {
    if (!columns[cell.index]?.elastic) continue;
    const floor = Math.max(8, columns[cell.index]?.header.length ?? 0);
    const cut = Math.min(excess, Math.max(0, cell.width - floor));
    cell.width -= cut;
    excess -= cut;
  }
  return excess <= 0 ? cells : null;
}

function draw(
  cells: Layout,
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
  indent: string,
  paint: (row: number, column: number, text: string) => string,
  headerOnly: boolean,
): string[] {
  const format = (texts: (index: number) => string, paintCell: (c: number, t: string) => string) =>
    (
      indent +
      cells
        .map(({ index, width }, position) => {
          const text = truncate(texts(index), width);
          const pad = " ".repeat(Math.max(0, width - visible(text)));
          const last = position === cells.length - 1;
          const painted = paintCell(index, text);
          if (columns[index]?.align === "right") return pad + painted;
          return last ? painted : painted + pad;
        })
        .join(" ".repeat(GAP))
    ).trimEnd();
  const header = format(
    (i) => columns[i]?.header ?? "",
    (_c, t) => t,
  );
  if (headerOnly) return [header];
  return [
    header,
    ...rows.map((row, r) =>
      format(
        (i) => row[i] ?? "",
        (c, t) => paint(r, c, t),
      ),
    ),
  ];
}
