import type { PGlite } from "@electric-sql/pglite";
import type { Corpus } from "../generate.ts";

/** Whether a timing covers a whole process (start included) or a call inside this process. */
export type Mode = "in-process" | "process";
export type Transactions = "per migration" | "one for all";
/** What a run is pointed at: a PostgreSQL database, postgres-meta in front of one, or PGlite. */
export type TargetKind = "pg" | "pg-meta" | "pglite";

/** The corpus of one size, written in every tool's format (in a temporary directory). */
export interface Prepared {
  readonly corpus: Corpus;
  readonly root: string;
  readonly dirs: {
    /** dbmate's format: this engine and dbmate. */
    readonly dbmate: string;
    /** Up SQL only, a file each: the floors, psql, postgres-migrations. */
    readonly upOnly: string;
    readonly nodePgMigrate: string;
    /** graphile-migrate's migrations folder (with `committed/`). */
    readonly graphile: string;
    /** An empty directory: a floor process that connects and sends nothing. */
    readonly empty: string;
  };
  /**
   * Kysely's ES modules, freshly written for each call: an in-process run must not find them in
   * the module cache of the previous one.
   */
  kyselyDir(): string;
}

/** One run's database: a connection string, and for the other targets what stands in front. */
export interface RunTarget {
  readonly url: string;
  readonly pgMetaUrl?: string;
  readonly pglite?: PGlite;
}

export type Phase = "apply" | "noop";

export interface Tool {
  /** Stable id, e.g. `engine-pg`. */
  readonly id: string;
  /** The `tool` column; this engine's start with `engine`. */
  readonly tool: string;
  readonly mode: Mode;
  readonly target: TargetKind;
  readonly transactions: Transactions;
  /** The id of the floor its ratio is taken against; null for the floors themselves. */
  readonly floor: string | null;
  /** Whether a second run, with everything applied, means anything (psql has no bookkeeping). */
  readonly noop: boolean;
  /** Applies every pending migration of `prepared` to `target`; throws if anything fails. */
  run(target: RunTarget, prepared: Prepared, phase: Phase): Promise<void>;
}
