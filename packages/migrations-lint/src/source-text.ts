/**
 * A piece of a migration file — its up section, or one statement of it — with what it takes to turn
 * the parser's positions into the file's lines: libpg-query counts UTF-8 bytes, JavaScript strings
 * count UTF-16 code units, and the file's lines start `firstLine - 1` lines before this text's.
 */
export class SourceText {
  /** Line starts (character indices), for line lookups by binary search. */
  private readonly lineStarts: number[] = [0];
  /** For non-ASCII text: the character index of each UTF-8 byte offset (ASCII text maps 1:1). */
  private byteToChar: Uint32Array | null | undefined;

  constructor(
    readonly text: string,
    /** The file's 1-based line on which `text` begins. */
    readonly firstLine: number,
  ) {
    for (let k = text.indexOf("\n"); k !== -1; k = text.indexOf("\n", k + 1)) {
      this.lineStarts.push(k + 1);
    }
  }

  /** The file's line of the character at `index`. */
  lineOf(index: number): number {
    let low = 0;
    let high = this.lineStarts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if ((this.lineStarts[middle] ?? 0) <= index) low = middle;
      else high = middle - 1;
    }
    return this.firstLine + low;
  }

  /** The character index of a UTF-8 byte offset into the text (clamped to its end). */
  charIndexOfByte(offset: number): number {
    if (this.byteToChar === undefined) this.byteToChar = buildByteMap(this.text);
    if (this.byteToChar === null) return Math.min(offset, this.text.length);
    return this.byteToChar[Math.min(offset, this.byteToChar.length - 1)] ?? this.text.length;
  }

  /** The character index of a code-point offset (how PostgreSQL reports an error's position). */
  charIndexOfCodePoint(offset: number): number {
    let index = 0;
    for (let seen = 0; seen < offset && index < this.text.length; seen++) {
      const code = this.text.codePointAt(index) ?? 0;
      index += code > 0xffff ? 2 : 1;
    }
    return index;
  }

  /**
   * The index of the first character at or after `from` that is neither white space nor part of
   * a comment (`--` to the end of the line, or a nested block comment): where a statement really
   * begins, whatever the parser counted as its start.
   */
  skipSpaceAndComments(from: number): number {
    const text = this.text;
    let index = from;
    while (index < text.length) {
      const char = text[index];
      if (char === " " || char === "\t" || char === "\n" || char === "\r" || char === "\f") {
        index++;
      } else if (char === "-" && text[index + 1] === "-") {
        const end = text.indexOf("\n", index);
        index = end === -1 ? text.length : end + 1;
      } else if (char === "/" && text[index + 1] === "*") {
        let depth = 0;
        while (index < text.length) {
          if (text[index] === "/" && text[index + 1] === "*") {
            depth++;
            index += 2;
          } else if (text[index] === "*" && text[index + 1] === "/") {
            depth--;
            index += 2;
            if (depth === 0) break;
          } else {
            index++;
          }
        }
      } else {
        break;
      }
    }
    return index;
  }
}

/** null when the text is ASCII (byte offsets are character indices). */
function buildByteMap(text: string): Uint32Array | null {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range is exactly what is meant
  if (/^[\u0000-\u007f]*$/.test(text)) return null;
  const bytes = Buffer.byteLength(text, "utf8");
  const map = new Uint32Array(bytes + 1);
  let byte = 0;
  for (let index = 0; index < text.length; ) {
    const code = text.codePointAt(index) ?? 0;
    const width = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
    for (let k = 0; k < width; k++) map[byte + k] = index;
    byte += width;
    index += code > 0xffff ? 2 : 1;
  }
  map[bytes] = text.length;
  return map;
}
