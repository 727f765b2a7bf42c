/** Keeps the last lines written by a child process, for error messages. */
export class OutputTail {
  readonly #lines: string[] = [];
  #partial = "";

  constructor(readonly limit = 40) {}

  push(chunk: string | Buffer): void {
    const text = this.#partial + chunk.toString();
    const lines = text.split(/\r?\n/);
    this.#partial = lines.pop() ?? "";
    for (const line of lines) {
      if (line.trim() === "") continue;
      this.#lines.push(line);
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
