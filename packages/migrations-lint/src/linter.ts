import type {
  Migration,
  MigrationLinter,
  MigrationLintOptions,
  RelationLockHolder,
  TableLockMode,
} from "@studio/migrations-core";
import { loadModule, parsePlPgSQLSync, parseSync } from "libpg-query";
import { analyseStatement, type Hit, type StatementAnalysis } from "./analyse-statement.ts";
import { excerpt, holdersPhrase, relationPhrase } from "./describe.ts";
import { readDoBlock } from "./do-blocks.ts";
import { type IgnoreDirective, SectionLines } from "./ignore-directives.ts";
import { lockModesConflict, strongerLockMode } from "./lock-modes.ts";
import type { IgnoredFinding, LintFinding, LintReport } from "./report.ts";
import { isLintRuleId, type LintRuleId, lintRule } from "./rules.ts";
import { RunState } from "./run-state.ts";
import { type ParsedStatement, parseSection } from "./statements.ts";

/** What a lint is told about the target: the engine's {@link MigrationLintOptions}. */
export type LintOptions = MigrationLintOptions;

/** A lock_timeout in force: its value, null when there is none, undefined when unknown. */
type Timeout = string | null | undefined;

/** The lint, its parser loaded: synchronous from here on; its findings name its own rule ids. */
export interface Linter extends MigrationLinter {
  /**
   * The relations the lint would ask the target about, in SQL's spelling (`platform.users`): the
   * ones the migrations' statements lock or risk, other than those created earlier in the run.
   * Fetch their sizes with `relationSizesSql(names)` and pass them to {@link Linter.lint}.
   */
  relationsToSize(migrations: readonly Migration[]): string[];
  /** Lints the up sections of `migrations`, in the order given (pending migrations, oldest first). */
  lint(migrations: readonly Migration[], options?: LintOptions): LintReport;
}

let loading: Promise<Linter> | undefined;

/** Loads PostgreSQL's parser (WebAssembly) once per process; later calls get the same linter. */
export function loadLinter(): Promise<Linter> {
  loading ??= loadModule().then(
    (): Linter => ({
      relationsToSize: (migrations) => {
        const state = new RunState(null);
        run(migrations, state);
        return [...state.asked];
      },
      lint: (migrations, options = {}) => {
        const state = new RunState(options.sizes ?? null);
        return run(migrations, state, options.lockTimeout);
      },
    }),
    (error: unknown) => {
      loading = undefined;
      throw error;
    },
  );
  return loading;
}

/** {@link Linter.lint}, loading the parser first if need be. */
export async function lint(
  migrations: readonly Migration[],
  options: LintOptions = {},
): Promise<LintReport> {
  return (await loadLinter()).lint(migrations, options);
}

/** {@link Linter.relationsToSize}, loading the parser first if need be. */
export async function relationsToSize(migrations: readonly Migration[]): Promise<string[]> {
  return (await loadLinter()).relationsToSize(migrations);
}

function run(
  migrations: readonly Migration[],
  state: RunState,
  lockTimeout: Timeout = undefined,
): LintReport {
  const findings: LintFinding[] = [];
  const ignored: IgnoredFinding[] = [];
  for (const migration of migrations) {
    new MigrationLint(migration, state, findings, ignored, lockTimeout).run();
  }
  const count = (level: LintFinding["level"]) => findings.filter((f) => f.level === level).length;
  return {
    findings,
    ignored,
    errors: count("error"),
    warnings: count("warning"),
    infos: count("info"),
    migrations: migrations.map((migration) => migration.name),
    live: state.live,
  };
}

/** One migration's statements, linted in order against the run's state. */
class MigrationLint {
  private readonly lines: SectionLines;
  /** lock_timeout as the migration's transaction has it (a transactional migration only). */
  private migrationTimeout: Timeout;
  private readonly reportedDirectives = new Set<number>();
  private readonly own: LintFinding[] = [];
  private readonly ownIgnored: IgnoredFinding[] = [];

  constructor(
    private readonly migration: Migration,
    private readonly state: RunState,
    private readonly findings: LintFinding[],
    private readonly ignored: IgnoredFinding[],
    /** The executor's lock_timeout, which each statement starts with. */
    private readonly executorTimeout: Timeout,
  ) {
    this.lines = new SectionLines(migration.up, migration.upLine);
    this.migrationTimeout = executorTimeout;
  }

  run(): void {
    const section = parseSection(parseSync, this.migration.up, this.migration.upLine);
    const events: { line: number; act: () => void }[] = [];
    for (const error of section.errors) {
      events.push({
        line: error.line,
        act: () =>
          this.syntaxError(
            error.line,
            error.text,
            error.message,
            this.directives(error.line),
            false,
          ),
      });
    }
    for (const statement of section.statements) {
      events.push({ line: statement.line, act: () => this.statement(statement) });
    }
    // Statements in the order they run; a refused one at its place among them.
    events.sort((a, b) => a.line - b.line);
    for (const event of events) event.act();
    this.own.sort((a, b) => a.line - b.line);
    this.findings.push(...this.own);
    this.ignored.push(...this.ownIgnored);
  }

  private statement(statement: ParsedStatement): void {
    const directives = this.directives(statement.line);
    const node = statement.node;
    if (!("DoStmt" in node)) {
      const analysis = analyseStatement(node, this.context(false));
      this.report(
        analysis,
        statement.line,
        statement.text,
        directives,
        false,
        this.migration.transactional ? this.migrationTimeout : this.executorTimeout,
      );
      this.topLevelTimeout(analysis);
      return;
    }
    const body = readDoBlock(node.DoStmt, statement.source, parseSync, parsePlPgSQLSync);
    if (body.kind === "opaque") {
      this.add(
        "do-block-opaque",
        statement.line,
        statement.text,
        false,
        `Cannot see inside this DO block: ${body.reason}. None of its statements were checked.`,
        directives,
      );
      return;
    }
    // In a transactional migration the block shares the migration's transaction (and its
    // settings); otherwise it is a transaction of its own, which a COMMIT inside ends.
    const outer = this.migration.transactional ? this.migrationTimeout : this.executorTimeout;
    let timeout = outer;
    let localTimeout = false;
    for (const step of body.steps) {
      const inner = [...directives, ...this.directives(step.line)];
      if (step.kind === "sql") {
        const analysis = analyseStatement(step.node, this.context(true));
        this.report(analysis, step.line, step.text, inner, true, timeout);
        if (analysis.lockTimeout !== null) {
          timeout = analysis.lockTimeout.value;
          localTimeout = analysis.lockTimeout.local;
          if (this.migration.transactional) this.migrationTimeout = timeout;
        }
      } else if (step.kind === "transaction-end") {
        if (localTimeout) timeout = outer;
      } else if (step.kind === "dynamic") {
        this.add(
          "dynamic-sql",
          step.line,
          step.text,
          true,
          `Cannot see the SQL this EXECUTE runs: it is built when the DO block runs${step.text === "" ? "" : ` (from ${excerpt(step.text, 80)})`}. The rest of the block was checked.`,
          inner,
        );
      } else {
        this.syntaxError(step.line, step.text, step.message, inner, true);
      }
    }
  }

  private context(inDoBlock: boolean) {
    return { state: this.state, transactional: this.migration.transactional, inDoBlock };
  }

  /**
   * A top-level SET lock_timeout (or set_config) lasts to the end of a transactional migration.
   * In a transaction:false migration each statement is its own transaction, and the engine may
   * send the next one on another connection: nothing carries over.
   */
  private topLevelTimeout(analysis: StatementAnalysis): void {
    if (analysis.lockTimeout !== null && this.migration.transactional) {
      this.migrationTimeout = analysis.lockTimeout.value;
    }
  }

  private syntaxError(
    line: number,
    text: string,
    message: string,
    directives: readonly IgnoreDirective[],
    inDoBlock: boolean,
  ): void {
    this.add(
      "syntax-error",
      line,
      text,
      inDoBlock,
      `PostgreSQL's parser refuses this statement (${message}): the migration would fail here.`,
      directives,
    );
  }

  /** The statement's findings, and a lock-wait for each table it locks that has sessions in the way. */
  private report(
    analysis: StatementAnalysis,
    line: number,
    text: string,
    directives: readonly IgnoreDirective[],
    inDoBlock: boolean,
    timeout: Timeout,
  ): void {
    for (const hit of analysis.hits) {
      this.add(hit.rule, line, text, inDoBlock, this.message(hit, timeout), directives, hit);
    }
    const strongest = new Map<string, StatementAnalysis["locks"][number]>();
    for (const lock of analysis.locks) {
      const key = lock.relation.ref.key;
      const seen = strongest.get(key);
      if (seen === undefined || strongerLockMode(lock.mode, seen.mode) !== seen.mode) {
        strongest.set(key, lock);
      }
    }
    for (const { relation, mode } of strongest.values()) {
      if (analysis.hits.some((hit) => hit.relation?.ref.key === relation.ref.key)) continue;
      const blockedBy = blocking(relation.size?.lockHolders ?? [], mode);
      if (blockedBy.length === 0) continue;
      const phrase = relationPhrase(relation.display, relation.size);
      this.add(
        "lock-wait",
        line,
        text,
        inDoBlock,
        `This statement needs ${mode} on ${phrase}, which conflicts with ${holdersPhrase(blockedBy)}. ${waitConsequence(relation.display, timeout)}`,
        directives,
        { relation, lock: mode },
      );
    }
  }

  private message(hit: Hit, timeout: Timeout): string {
    const relation = hit.relation;
    if (relation === null) return hit.message("");
    const text = hit.message(relationPhrase(relation.display, relation.size));
    const blockedBy = this.blockedBy(hit);
    if (blockedBy.length === 0) return text;
    return `${text} Right now it would also wait behind ${holdersPhrase(blockedBy)}. ${waitConsequence(relation.display, timeout)}`;
  }

  private blockedBy(hit: Pick<Hit, "relation" | "lock">) {
    const lock = hit.lock;
    const size = hit.relation?.size ?? null;
    if (lock === null || size === null) return [];
    return blocking(size.lockHolders, lock);
  }

  private add(
    rule: LintRuleId,
    line: number,
    text: string,
    inDoBlock: boolean,
    message: string,
    directives: readonly IgnoreDirective[],
    about: Pick<Hit, "relation" | "lock"> = { relation: null, lock: null },
  ): void {
    const definition = lintRule(rule);
    if (definition === undefined) throw new Error(`lint: no rule ${rule}`);
    const finding: LintFinding = {
      rule,
      level: definition.level,
      migration: this.migration.name,
      source: this.migration.source,
      line,
      statement: excerpt(text, 200),
      inDoBlock,
      lock: about.lock ?? (definition.lock === "varies" ? null : definition.lock),
      relation: about.relation?.display ?? null,
      size: about.relation?.size ?? null,
      blockedBy: this.blockedBy(about),
      message,
      fix: definition.fix,
    };
    const accepted = directives.find((directive) => directive.rules.includes(rule));
    if (accepted !== undefined) {
      this.ownIgnored.push({ finding, directiveLine: accepted.line, reason: accepted.reason });
    } else {
      this.own.push(finding);
    }
  }

  /** The `-- lint:ignore` comments above a line; those naming no known rule are reported once. */
  private directives(line: number): IgnoreDirective[] {
    const directives = this.lines.directivesAbove(line);
    for (const directive of directives) {
      if (this.reportedDirectives.has(directive.line)) continue;
      this.reportedDirectives.add(directive.line);
      const unknown = directive.rules.filter((rule) => !isLintRuleId(rule));
      if (unknown.length === 0 && directive.rules.length > 0) continue;
      this.add(
        "lint-ignore-unknown-rule",
        directive.line,
        this.lines.at(directive.line)?.trim() ?? "",
        false,
        directive.rules.length === 0
          ? "This -- lint:ignore names no rule, so it accepts nothing: write -- lint:ignore <rule>[,<rule>…] [reason]."
          : `This -- lint:ignore names ${unknown.map((rule) => `"${rule}"`).join(", ")}, which ${unknown.length === 1 ? "is no rule" : "are no rules"}: it accepts nothing under ${unknown.length === 1 ? "that name" : "those names"}.`,
        [],
      );
    }
    return directives;
  }
}

/**
 * The sessions a request for `mode` would wait behind. An autovacuum worker is left out: PostgreSQL
 * cancels one that blocks a lock request (after deadlock_timeout), unless it runs to prevent
 * transaction ID wraparound.
 */
function blocking(
  holders: readonly RelationLockHolder[],
  mode: TableLockMode,
): RelationLockHolder[] {
  return holders.filter(
    (holder) =>
      lockModesConflict(mode, holder.mode) &&
      !(
        holder.query?.startsWith("autovacuum:") === true &&
        !holder.query.includes("to prevent wraparound")
      ),
  );
}

/** What waiting for a lock does to everyone else, and whether lock_timeout bounds it. */
function waitConsequence(table: string, timeout: Timeout): string {
  const queue = `While it waits, every later query on ${table} that needs a conflicting lock queues behind it`;
  if (timeout === undefined) return `${queue}.`;
  if (timeout === null) return `${queue}, and no lock_timeout bounds the wait.`;
  return `lock_timeout (${timeout}) bounds the wait: after that the statement fails (and can be retried) rather than hold up every later query on ${table}.`;
}
