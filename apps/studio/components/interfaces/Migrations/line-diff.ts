/**
 * A line diff for showing drift: what ran (`up_sql`) against the file's up section now. Longest
 * common subsequence over lines, after trimming the common head and tail — migrations are small,
 * and an edit after applying is usually a few lines.
 */

export type DiffLineKind = "same" | "removed" | "added";

export interface DiffLine {
  kind: DiffLineKind;
  text: string;
  /** 1-based line in the old text (what ran); null for an added line. */
  oldLine: number | null;
  /** 1-based line in the new text (the file); null for a removed line. */
  newLine: number | null;
}

/** Beyond this many cells (old lines × new lines) the middle is shown as removed, then added. */
const MAX_TABLE_CELLS = 4_000_000;

/**
 * Every line of both texts, in order, marked as kept, removed (only in `before`) or added (only
 * in `after`). Line endings are compared as `\n`: a CRLF↔LF conversion is no change (the checksum
 * ignores it too).
 */
export function diffLines(before: string, after: string): DiffLine[] {
  const a = splitLines(before);
  const b = splitLines(after);
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  ) {
    tail++;
  }
  const out: DiffLine[] = [];
  for (let i = 0; i < head; i++) {
    out.push({ kind: "same", text: a[i] as string, oldLine: i + 1, newLine: i + 1 });
  }
  const middleA = a.slice(head, a.length - tail);
  const middleB = b.slice(head, b.length - tail);
  for (const line of diffMiddle(middleA, middleB)) {
    out.push({
      ...line,
      oldLine: line.oldLine === null ? null : line.oldLine + head,
      newLine: line.newLine === null ? null : line.newLine + head,
    });
  }
  for (let k = tail; k > 0; k--) {
    out.push({
      kind: "same",
      text: a[a.length - k] as string,
      oldLine: a.length - k + 1,
      newLine: b.length - k + 1,
    });
  }
  return out;
}

/** Whether two texts differ by more than their line endings. */
export function differs(before: string, after: string): boolean {
  return normalise(before) !== normalise(after);
}

/** A run of unchanged lines long enough to fold, and where it sits. */
export type DiffBlock =
  | { kind: "lines"; lines: DiffLine[] }
  | { kind: "folded"; count: number; from: number };

/**
 * The diff with long unchanged stretches folded, keeping `context` lines around each change —
 * what a reader needs to see where an edit sits without reading the whole migration.
 */
export function foldUnchanged(lines: readonly DiffLine[], context = 3): DiffBlock[] {
  const changed = lines.map((line) => line.kind !== "same");
  const keep = lines.map((_, index) => {
    for (let d = -context; d <= context; d++) if (changed[index + d]) return true;
    return false;
  });
  const blocks: DiffBlock[] = [];
  let index = 0;
  while (index < lines.length) {
    const start = index;
    if (keep[index]) {
      while (index < lines.length && keep[index]) index++;
      blocks.push({ kind: "lines", lines: lines.slice(start, index) });
    } else {
      while (index < lines.length && !keep[index]) index++;
      blocks.push({ kind: "folded", count: index - start, from: start });
    }
  }
  return blocks;
}

function normalise(text: string): string {
  return text.replace(/\r\n/g, "\n");
}

function splitLines(text: string): string[] {
  const normalised = normalise(text);
  if (normalised === "") return [];
  // A final line break ends the last line; it does not start an empty one.
  return (normalised.endsWith("\n") ? normalised.slice(0, -1) : normalised).split("\n");
}

/** The LCS diff of two line lists (1-based line numbers relative to them). */
function diffMiddle(a: readonly string[], b: readonly string[]): DiffLine[] {
  const removed = (i: number): DiffLine => ({
    kind: "removed",
    text: a[i] as string,
    oldLine: i + 1,
    newLine: null,
  });
  const added = (j: number): DiffLine => ({
    kind: "added",
    text: b[j] as string,
    oldLine: null,
    newLine: j + 1,
  });
  if (a.length * b.length > MAX_TABLE_CELLS) {
    return [...a.map((_, i) => removed(i)), ...b.map((_, j) => added(j))];
  }
  // lengths[i][j]: the LCS length of a[i..] and b[j..], in one flat array.
  const width = b.length + 1;
  const lengths = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lengths[i * width + j] =
        a[i] === b[j]
          ? (lengths[(i + 1) * width + j + 1] as number) + 1
          : Math.max(lengths[(i + 1) * width + j] as number, lengths[i * width + j + 1] as number);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push({ kind: "same", text: a[i] as string, oldLine: i + 1, newLine: j + 1 });
      i++;
      j++;
    } else if ((lengths[(i + 1) * width + j] as number) >= (lengths[i * width + j + 1] as number)) {
      out.push(removed(i++));
    } else {
      out.push(added(j++));
    }
  }
  while (i < a.length) out.push(removed(i++));
  while (j < b.length) out.push(added(j++));
  return out;
}
