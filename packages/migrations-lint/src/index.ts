export { type Linter, type LintOptions, lint, loadLinter, relationsToSize } from "./linter.ts";
export { isTableLockMode, lockModesConflict, TABLE_LOCK_MODES } from "./lock-modes.ts";
export type { IgnoredFinding, LintFinding, LintReport } from "./report.ts";
export {
  isLintRuleId,
  LINT_RULES,
  type LintLevel,
  type LintRule,
  type LintRuleId,
  lintRule,
} from "./rules.ts";
