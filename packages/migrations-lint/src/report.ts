import type { RelationLockHolder, RelationSize, TableLockMode } from "@studio/migrations-core";
import type { LintLevel, LintRuleId } from "./rules.ts";

/**
 * One risky statement, face-neutral: the data to show, and a message that says it in full (faces
 * may word their own from the fields).
 */
export interface LintFinding {
  readonly rule: LintRuleId;
  readonly level: LintLevel;
  /** The migration's name (file stem). */
  readonly migration: string;
  /** Where the migration came from (`Migration.source`: its file's path, or `memory:<name>`). */
  readonly source: string;
  /** The file's 1-based line on which the statement begins. */
  readonly line: number;
  /** The statement, white space collapsed, cut at 200 characters. */
  readonly statement: string;
  /** Whether the statement is one inside a DO block (then `line` is its line inside the block). */
  readonly inDoBlock: boolean;
  /** The lock the statement takes on `relation` (or, without one, the lock the rule is about); null when none is involved. */
  readonly lock: TableLockMode | null;
  /**
   * The table (or index) the finding is about: schema-qualified as the target resolved it when a
   * target was asked, otherwise as the statement names it; null when the finding is about no one
   * relation.
   */
  readonly relation: string | null;
  /** What the target says about `relation`, when sizes were given and it exists there. */
  readonly size: RelationSize | null;
  /** The sessions whose locks on `relation` (held, or queued ahead) the statement's lock conflicts with right now. */
  readonly blockedBy: readonly RelationLockHolder[];
  /** Why it is risky, with the size and the sessions in the way when known. */
  readonly message: string;
  /** The safe way to do it. */
  readonly fix: string;
}

/** A finding accepted by a `-- lint:ignore` comment. */
export interface IgnoredFinding {
  readonly finding: LintFinding;
  /** The file's line of the `-- lint:ignore` comment. */
  readonly directiveLine: number;
  /** What the comment says after the rule ids; null when nothing. */
  readonly reason: string | null;
}

export interface LintReport {
  /** The findings not accepted by a `-- lint:ignore`, in migration order, then by line. */
  readonly findings: readonly LintFinding[];
  /** The findings a `-- lint:ignore` accepted, with its reason. */
  readonly ignored: readonly IgnoredFinding[];
  /** How many of `findings` are errors (`lint` exits 1, `apply --strict` refuses, when any). */
  readonly errors: number;
  readonly warnings: number;
  readonly infos: number;
  /** The migrations linted, in the order given. */
  readonly migrations: readonly string[];
  /** Whether sizes from a live target were given (only then do findings carry sizes, and lock-wait run). */
  readonly live: boolean;
}
