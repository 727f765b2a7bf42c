import type {
  LintFinding as EngineLintFinding,
  LintReport as EngineLintReport,
  IgnoredLintFinding,
} from "@studio/migrations-core";
import type { LintRuleId } from "./rules.ts";

/*
 * The report's shape is the core's (the engine hands it to every face, and the core cannot import
 * this package); here it is only narrowed to this lint's rule ids.
 */

/** One risky statement: the data to show, and a message that says it in full. */
export type LintFinding = EngineLintFinding<LintRuleId>;

/** A finding accepted by a `-- lint:ignore` comment. */
export type IgnoredFinding = IgnoredLintFinding<LintRuleId>;

export type LintReport = EngineLintReport<LintRuleId>;
