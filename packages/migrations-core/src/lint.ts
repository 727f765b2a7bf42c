import type { Migration } from "./migration.ts";
import type { RelationLockHolder, RelationSize, TableLockMode } from "./relations.ts";

/**
 * The lint (SPEC §9 "Lint") as the engine drives it. The lint itself is `@studio/migrations-lint`
 * (PostgreSQL's parser, as WebAssembly), which depends on this package: the core cannot import
 * it, so the host hands the engine a loader (`EngineOptions.linter`, e.g. that package's
 * `loadLinter`) whose linter has this shape. The types below are the lint's report as every face
 * receives it; `@studio/migrations-lint`'s own (`LintReport`, `LintFinding`) are the same objects,
 * with `rule` narrowed to its rule ids.
 */
export interface MigrationLinter {
  /** The relations whose size and lock holders the lint would ask the target about. */
  relationsToSize(migrations: readonly Migration[]): string[];
  /** Lints the up sections of `migrations`, in the order given. */
  lint(migrations: readonly Migration[], options?: MigrationLintOptions): LintReport;
}

export interface MigrationLintOptions {
  /** What the target says about the relations `relationsToSize` named; absent: not live. */
  readonly sizes?: readonly RelationSize[];
  /** The lock_timeout statements run under (e.g. `5000ms`); null for none; absent: unknown. */
  readonly lockTimeout?: string | null;
}

export type LintLevel = "error" | "warning" | "info";

/** One risky statement: the data to show, and a message that says it in full. */
export interface LintFinding {
  /** The rule's stable id, e.g. `index-not-concurrent`. */
  readonly rule: string;
  readonly level: LintLevel;
  readonly migration: string;
  /** Where the migration came from (its file's path, or `memory:<name>`). */
  readonly source: string;
  /** The file's 1-based line on which the statement begins. */
  readonly line: number;
  /** The statement, white space collapsed, cut at 200 characters. */
  readonly statement: string;
  readonly inDoBlock: boolean;
  /** The lock the statement takes on `relation`; null when none is involved. */
  readonly lock: TableLockMode | null;
  /** The relation the finding is about (schema-qualified when a target resolved it); null if none. */
  readonly relation: string | null;
  /** What the target says about `relation`, when sizes were read and it exists there. */
  readonly size: RelationSize | null;
  /** Sessions whose locks on `relation` the statement's lock conflicts with right now. */
  readonly blockedBy: readonly RelationLockHolder[];
  readonly message: string;
  /** The safe way to do it. */
  readonly fix: string;
}

/** A finding a `-- lint:ignore <rule> <reason>` comment accepted. */
export interface IgnoredLintFinding {
  readonly finding: LintFinding;
  /** The file's line of the comment. */
  readonly directiveLine: number;
  readonly reason: string | null;
}

export interface LintReport {
  /** The findings no `-- lint:ignore` accepted, in migration order, then by line. */
  readonly findings: readonly LintFinding[];
  readonly ignored: readonly IgnoredLintFinding[];
  /** Error-level findings: `lint` exits 1 and a strict apply refuses when any. */
  readonly errors: number;
  readonly warnings: number;
  readonly infos: number;
  /** The migrations linted, in order. */
  readonly migrations: readonly string[];
  /** Whether sizes were read from the target (only then do findings carry sizes). */
  readonly live: boolean;
}
