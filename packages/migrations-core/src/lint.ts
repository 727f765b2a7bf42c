import type { Migration } from "./migration.ts";
import type { RelationLockHolder, RelationSize, TableLockMode } from "./relations.ts";

/**
 * The lint (SPEC §9 "Lint") as the engine drives it. The lint itself is `@studio/migrations-lint`
 * (PostgreSQL's parser, as WebAssembly), which depends on this package: the core cannot import
 * it, so the host hands the engine a loader (`EngineOptions.linter`, e.g. that package's
 * `loadLinter`) whose linter has this shape. The report types below are the only definition of
 * the lint's report: the lint package builds exactly these, with `Rule` narrowed to its rule ids,
 * and every face receives them as they are.
 */
export interface MigrationLinter {
  /** The relations whose size and lock holders the lint would ask the target about. */
  relationsToSize(migrations: readonly Migration[]): string[];
  /** Lints the up sections of `migrations`, in the order given. */
  lint(migrations: readonly Migration[], options?: MigrationLintOptions): LintReport;
}

export interface MigrationLintOptions {
  /**
   * What the live target says about the relations `relationsToSize` named (the executor's
   * `readRelationSizes`). With them, a relation's existence comes from the target's catalog,
   * every finding about an existing table carries its size, and statements that would wait for
   * another session's lock say so. Without them (not live), a table the linted migrations did not
   * create is assumed to exist.
   */
  readonly sizes?: readonly RelationSize[];
  /**
   * The lock_timeout the executor runs each statement under unless the migration sets its own
   * (e.g. `5000ms`; null for none, as for a `CREATE INDEX CONCURRENTLY` over postgres-meta, which
   * runs with the database's own). Only
   * the wording of waits depends on it: whether a wait is bounded. Unknown when not given.
   */
  readonly lockTimeout?: string | null;
}

/** How much a finding matters: `error` fails `lint` (and `apply --strict`); the others inform. */
export type LintLevel = "error" | "warning" | "info";

/**
 * One risky statement, face-neutral: the data to show, and a message that says it in full (faces
 * may word their own from the fields). `Rule` is the lint's rule ids; any string to the engine.
 */
export interface LintFinding<Rule extends string = string> {
  /** The rule's stable id, e.g. `index-not-concurrent`: what `-- lint:ignore` names. */
  readonly rule: Rule;
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
  /** What the target says about `relation`, when sizes were read and it exists there. */
  readonly size: RelationSize | null;
  /** The sessions whose locks on `relation` (held, or queued ahead) the statement's lock conflicts with right now. */
  readonly blockedBy: readonly RelationLockHolder[];
  /** Why it is risky, with the size and the sessions in the way when known. */
  readonly message: string;
  /** The safe way to do it. */
  readonly fix: string;
}

/** A finding a `-- lint:ignore <rule> <reason>` comment accepted. */
export interface IgnoredLintFinding<Rule extends string = string> {
  readonly finding: LintFinding<Rule>;
  /** The file's line of the `-- lint:ignore` comment. */
  readonly directiveLine: number;
  /** What the comment says after the rule ids; null when nothing. */
  readonly reason: string | null;
}

export interface LintReport<Rule extends string = string> {
  /** The findings no `-- lint:ignore` accepted, in migration order, then by line. */
  readonly findings: readonly LintFinding<Rule>[];
  /** The findings a `-- lint:ignore` accepted, with its reason. */
  readonly ignored: readonly IgnoredLintFinding<Rule>[];
  /** How many of `findings` are errors (`lint` exits 1, a strict apply refuses, when any). */
  readonly errors: number;
  readonly warnings: number;
  readonly infos: number;
  /** The migrations linted, in the order given. */
  readonly migrations: readonly string[];
  /** Whether sizes were read from a live target (only then do findings carry sizes, and lock-wait run). */
  readonly live: boolean;
}
