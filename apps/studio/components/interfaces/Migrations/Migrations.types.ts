import type { RouterInputs, RouterOutputs } from "../../../utils/trpc";

/** The router's result types, as the browser receives them (Dates revived by superjson). */
export type StatusReport = RouterOutputs["migrations"]["list"];
export type MigrationView = StatusReport["migrations"][number];
export type Problem = StatusReport["problems"][number];
export type ApplyReport = RouterOutputs["migrations"]["apply"];
/** One migration's rollback, or a run's (`to` / `steps`: it has `results`). */
export type RollbackOutput = RouterOutputs["migrations"]["rollback"];
export type RollbackReport = Exclude<RollbackOutput, { results: unknown }>;
export type RollbackRunReport = Extract<RollbackOutput, { results: unknown }>;
export type AdoptReport = RouterOutputs["migrations"]["adopt"];
export type ResolveReport = RouterOutputs["migrations"]["resolve"];
export type HistoryEvent = RouterOutputs["migrations"]["history"]["events"][number];
/** One migration's SQL, fetched on demand: the file's sections and the up section as it ran. */
export type MigrationSql = RouterOutputs["migrations"]["sql"];
export type BaselineReport = RouterOutputs["migrations"]["baseline"];
/** The lint's report on the migrations an apply would run (SPEC §9 Lint). */
export type LintReport = RouterOutputs["migrations"]["lint"];
export type LintFinding = LintReport["findings"][number];
export type IgnoredLintFinding = LintReport["ignored"][number];
export type RelationSize = NonNullable<LintFinding["size"]>;
/** What a rehearsal ran, per migration and statement, before it rolled back (SPEC §9 Rehearse). */
export type RehearseReport = RouterOutputs["migrations"]["rehearse"];
export type RehearsalStep = RehearseReport["results"][number];
export type RehearsedStatement = RehearsalStep["statements"][number];

export type ApplyInput = RouterInputs["migrations"]["apply"];
export type RollbackInput = RouterInputs["migrations"]["rollback"];
export type ResolveInput = RouterInputs["migrations"]["resolve"];
export type AdoptInput = RouterInputs["migrations"]["adopt"];
export type BaselineInput = RouterInputs["migrations"]["baseline"];
export type RehearseInput = NonNullable<RouterInputs["migrations"]["rehearse"]>;
export type ForeignTool = AdoptInput["from"];
export type Resolution = ResolveInput["as"];

/** What a row shows, and its `data-state`: the engine's state refined by its problems. */
export type DisplayStatus =
  | "applied"
  | "pending"
  | "failed"
  | "interrupted"
  | "running"
  | "rolled_back"
  | "missing"
  | "out_of_order";

/** An action the operator asked for, before it is confirmed. */
export type PlannedAction =
  | { kind: "apply"; migrationName: string; transactional: boolean; allowOutOfOrder: boolean }
  | { kind: "apply-all"; count: number }
  | { kind: "rollback"; migrationName: string; markOnly: boolean }
  /** "Roll back to here": everything applied after `migrationName`, which stays applied. */
  | { kind: "rollback-to"; migrationName: string; count: number }
  | { kind: "resolve"; migrationName: string; as: Resolution };

/** What "Rehearse" runs: every pending migration, or those up to and including `upTo`. */
export interface RehearseTarget {
  upTo: string | null;
  /** `upTo` is older than the newest applied migration: rehearsed as it would be applied. */
  allowOutOfOrder: boolean;
}

/** A confirmed action, with the exact input to send and the rows it concerns. */
export type RunRequest =
  | { kind: "apply"; input: ApplyInput; names: string[] }
  | { kind: "rollback"; input: RollbackInput; names: string[] }
  | { kind: "resolve"; input: ResolveInput; names: string[] }
  | { kind: "adopt"; input: AdoptInput; names: string[] }
  | { kind: "baseline"; input: BaselineInput; names: string[] };

/** The rows an action in flight is working on, and the word for it ("Applying…"). */
export interface BusyState {
  verb: string;
  names: ReadonlySet<string>;
  /** Started by "Apply all pending". */
  all: boolean;
}

/**
 * What an action just did to a row, shown on the row for a few seconds beside the toast (which
 * may be read anywhere on the page): the row says it too, where the operator is looking.
 */
export interface RecentOutcome {
  outcome: "succeeded" | "failed";
  /** When it was settled (`Date.now()`), to expire it. */
  at: number;
}
