/** Longer lines are kept cut to this many characters (a log line can hold a whole error message). */
const MAX_LINE = 4_000;

/** Keeps the last lines written by a child process, for error messages. */
export class OutputTail {
  readonly #lines: string[] = [];
  #partial = "";

  constructor(readonly limit = 40) {}

  /**
   * Linear in what is written: only the new chunk is scanned, and a line being written is kept
   * cut, so that a child logging one huge line (postgres-meta logs a 20 MB error message whole)
   * is not slowed down by its own log pipe.
   */
  push(chunk: string | Buffer): void {
    const lines = chunk.toString().split(/\r?\n/);
    const last = lines.pop() ?? "";
    if (lines.length === 0) {
      this.#partial = clip(this.#partial + clip(last));
      return;
    }
    lines[0] = this.#partial + clip(lines[0] ?? "");
    this.#partial = clip(last);
    for (const line of lines) {
      if (line.trim() === "") continue;
      this.#lines.push(clip(line.replace(/\r$/, "")));
      if (this.#lines.length > this.limit) this.#lines.shift();
    }
  }

  text(): string {
    const lines = this.#partial.trim() === "" ? this.#lines : [...this.#lines, this.#partial];
    return lines.join("\n");
  }

  includes(needle: string): boolean {
    return this.text().includes(needle);
  }
}

function clip(line: string): string {
  return line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line;
}
