/**
 * `-- lint:ignore <rule>[,<rule>…] [reason]`: a comment that accepts, knowingly, what the named
 * rules find in the statement right below it. It counts in the block of `--` comment lines directly
 * above the statement (the line before it, or any line of that block: a blank line or SQL ends the
 * block). Above a DO block it covers every statement inside.
 */
export interface IgnoreDirective {
  /** The file's line of the comment. */
  readonly line: number;
  /** The rule ids as written (an unknown one is itself reported). */
  readonly rules: readonly string[];
  /** What the author wrote after the rule ids; null when nothing. */
  readonly reason: string | null;
}

const DIRECTIVE = /^--\s*lint:ignore(?=\s|$)\s*(.*)$/;
const RULE_LIST = /^([A-Za-z0-9_-]+(?:\s*,\s*[A-Za-z0-9_-]+)*)\s*(.*)$/;

/** The lines of one section of a file, by the file's line numbers. */
export class SectionLines {
  private readonly lines: readonly string[];

  constructor(
    text: string,
    /** The file's line on which `text` begins. */
    private readonly firstLine: number,
  ) {
    this.lines = text.split("\n");
  }

  /** The text of the file's line `line`, or undefined outside the section. */
  at(line: number): string | undefined {
    return this.lines[line - this.firstLine];
  }

  /** The directives in the comment block directly above the file's line `line`. */
  directivesAbove(line: number): IgnoreDirective[] {
    const found: IgnoreDirective[] = [];
    for (let above = line - 1; ; above--) {
      const text = this.at(above)?.trim();
      if (text === undefined || !text.startsWith("--")) break;
      const directive = parseDirective(text, above);
      if (directive !== null) found.push(directive);
    }
    return found.reverse();
  }
}

/** A directive from one comment line (trimmed), or null when the line is not one. */
export function parseDirective(comment: string, line: number): IgnoreDirective | null {
  const match = DIRECTIVE.exec(comment);
  if (match === null) return null;
  const rest = (match[1] ?? "").trim();
  const list = RULE_LIST.exec(rest);
  if (list === null) return { line, rules: [], reason: rest === "" ? null : rest };
  const rules = (list[1] ?? "").split(",").map((rule) => rule.trim());
  // "-- lint:ignore rule -- why" and "rule: why" read as "rule why".
  const reason = (list[2] ?? "").replace(/^[-–—:]+\s*/, "").trim();
  return { line, rules, reason: reason === "" ? null : reason };
}
