import {
  FOREIGN_TABLE_NAME,
  FOREIGN_TABLE_RULE,
  FOREIGN_TOOLS,
  HISTORY_CURSOR_RULE,
  isValidHistoryCursor,
  MAX_HISTORY_LIMIT,
  MAX_LOCK_TIMEOUT_MS,
  MAX_MIGRATION_NAME_LENGTH,
  MAX_STATEMENT_TIMEOUT_MS,
  MIGRATION_NAME_PATTERN,
  MIGRATION_NAME_RULE,
} from "@studio/migrations-core/rules";
import { z } from "zod";
import { MAX_HEARTBEAT_MS, MIN_HEARTBEAT_MS } from "./limits.ts";

/**
 * Input schemas: strict (unknown keys are refused) and validated before anything touches the
 * database. A name must be a migration name (the core's one rule, SPEC §2) — which also keeps
 * paths and SQL out of it.
 */
export const migrationName = z
  .string()
  .max(MAX_MIGRATION_NAME_LENGTH, "is too long")
  .regex(MIGRATION_NAME_PATTERN, `must be a migration name: ${MIGRATION_NAME_RULE}`);

export const listInput = z.object({}).strict().optional();

/**
 * A run's id, chosen by the client so that it can pick its run's events out of
 * `migrations.progress` (subscribe with it, then call `apply` / `rollback` with it).
 */
export const runId = z.uuid("must be a UUID");

/**
 * What `apply` and `rollback` take besides their target: the run's id, and limits for this run's
 * SQL in place of the server's (`lock_timeout`, `statement_timeout`, in ms; bounded by the core's
 * rules, `isValidLockTimeoutMs` / `isValidStatementTimeoutMs`).
 */
const runOptions = {
  runId: runId.optional(),
  lockTimeoutMs: z
    .number()
    .int("must be a whole number of milliseconds")
    .min(1, "must be at least 1 ms")
    .max(MAX_LOCK_TIMEOUT_MS, `must be at most ${MAX_LOCK_TIMEOUT_MS} ms (10 minutes)`)
    .optional(),
  statementTimeoutMs: z
    .number()
    .int("must be a whole number of milliseconds")
    .min(1, "must be at least 1 ms")
    .max(MAX_STATEMENT_TIMEOUT_MS, `must be at most ${MAX_STATEMENT_TIMEOUT_MS} ms (24 hours)`)
    .optional(),
};

export const applyInput = z
  .object({
    /** Exactly this migration; refused while earlier ones are pending. */
    migrationName: migrationName.optional(),
    /** Every pending migration up to and including this one. */
    upTo: migrationName.optional(),
    dryRun: z.boolean().optional(),
    allowOutOfOrder: z.boolean().optional(),
    /** Refuse before anything runs when the lint finds an error-level finding (SPEC §9). */
    strict: z.boolean().optional(),
    ...runOptions,
  })
  .strict()
  .refine((v) => !(v.migrationName && v.upTo), {
    message: "give migrationName (exactly that one) or upTo (everything up to it), not both",
  });

/**
 * Exactly one of: `migrationName` (that migration, the most recently applied), `to` (every
 * migration applied after it, newest first; it stays applied) or `steps` (the newest N).
 */
export const rollbackInput = z
  .object({
    migrationName: migrationName.optional(),
    to: migrationName.optional(),
    steps: z.number().int("must be a whole number").min(1, "must be at least 1").optional(),
    /** Record it (or, with `to` / `steps`, every one of them) as rolled back without running SQL. */
    markOnly: z.boolean().optional(),
    dryRun: z.boolean().optional(),
    ...runOptions,
  })
  .strict()
  .refine(
    (v) => [v.migrationName, v.to, v.steps].filter((field) => field !== undefined).length === 1,
    {
      message:
        "give exactly one of migrationName (that migration), to (everything applied after it) or steps (the newest N)",
    },
  );

/** The most migrations one `lint` names: more would only come from a runaway caller. */
export const MAX_LINT_NAMES = 1_000;

/**
 * `lint` (SPEC §9): the pending migrations, or the named ones (applied or not); the lock timeout
 * an apply would be given, which the findings' waits are worded for.
 */
export const lintInput = z
  .object({
    migrationNames: z
      .array(migrationName)
      .min(1, "name at least one migration, or leave migrationNames out for the pending ones")
      .max(MAX_LINT_NAMES, `must name at most ${MAX_LINT_NAMES} migrations`)
      .optional(),
    lockTimeoutMs: runOptions.lockTimeoutMs,
  })
  .strict()
  .optional();

/**
 * `rehearse` (SPEC §9): what an apply with the same target would run, run on the target and
 * rolled back; the limits it runs under in place of the server's.
 */
export const rehearseInput = z
  .object({
    /** Every pending migration up to and including this one; all pending without it. */
    upTo: migrationName.optional(),
    allowOutOfOrder: z.boolean().optional(),
    lockTimeoutMs: runOptions.lockTimeoutMs,
    statementTimeoutMs: runOptions.statementTimeoutMs,
  })
  .strict()
  .optional();

/** `adopt` (SPEC §4): the other tool, and its history table when not the default. */
export const adoptInput = z
  .object({
    from: z.enum(FOREIGN_TOOLS),
    table: z
      .string()
      .regex(FOREIGN_TABLE_NAME, `must be a table name: ${FOREIGN_TABLE_RULE}`)
      .optional(),
  })
  .strict();

export const baselineInput = z.object({ upTo: migrationName }).strict();

export const resolveInput = z
  .object({
    migrationName,
    as: z.enum(["applied", "rolled_back", "accept_checksum"]),
  })
  .strict();

export const historyInput = z
  .object({
    migrationName: migrationName.optional(),
    /** The previous page's `nextCursor`. */
    cursor: z.string().refine(isValidHistoryCursor, `must be ${HISTORY_CURSOR_RULE}`).optional(),
    limit: z.number().int().min(1).max(MAX_HISTORY_LIMIT).optional(),
  })
  .strict()
  .optional();

/** `sql`: one migration's SQL, read on demand (the list carries none). */
export const sqlInput = z.object({ migrationName }).strict();

/**
 * `migrations.progress`: every run's events, or one run's (`runId`), with a heartbeat when nothing
 * else was sent for `heartbeatMs`. `lastEventId` is set by tRPC's `httpSubscriptionLink` when it
 * reconnects (the last event id it saw): what came after it is sent first.
 */
export const progressInput = z
  .object({
    runId: runId.optional(),
    heartbeatMs: z
      .number()
      .int("must be a whole number of milliseconds")
      .min(MIN_HEARTBEAT_MS, `must be at least ${MIN_HEARTBEAT_MS} ms`)
      .max(MAX_HEARTBEAT_MS, `must be at most ${MAX_HEARTBEAT_MS} ms`)
      .optional(),
    lastEventId: z
      .string()
      .regex(/^[0-9]{1,15}$/, "must be an event id this stream sent")
      .nullish(),
  })
  .strict()
  .optional();

export type ApplyInput = z.infer<typeof applyInput>;
export type RollbackInput = z.infer<typeof rollbackInput>;
export type AdoptInput = z.infer<typeof adoptInput>;
export type BaselineInput = z.infer<typeof baselineInput>;
export type ResolveInput = z.infer<typeof resolveInput>;
export type HistoryInput = z.infer<typeof historyInput>;
export type ProgressInput = z.infer<typeof progressInput>;
export type SqlInput = z.infer<typeof sqlInput>;
export type LintInput = z.infer<typeof lintInput>;
export type RehearseInput = z.infer<typeof rehearseInput>;
