import {
  FOREIGN_TABLE_NAME,
  FOREIGN_TABLE_RULE,
  FOREIGN_TOOLS,
  HISTORY_CURSOR_PATTERN,
  MAX_HISTORY_LIMIT,
  MAX_MIGRATION_NAME_LENGTH,
  MIGRATION_NAME_PATTERN,
  MIGRATION_NAME_RULE,
} from "@studio/migrations-core/rules";
import { z } from "zod";

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

export const applyInput = z
  .object({
    /** Exactly this migration; refused while earlier ones are pending. */
    migrationName: migrationName.optional(),
    /** Every pending migration up to and including this one. */
    upTo: migrationName.optional(),
    dryRun: z.boolean().optional(),
    allowOutOfOrder: z.boolean().optional(),
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
  })
  .strict()
  .refine(
    (v) => [v.migrationName, v.to, v.steps].filter((field) => field !== undefined).length === 1,
    {
      message:
        "give exactly one of migrationName (that migration), to (everything applied after it) or steps (the newest N)",
    },
  );

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
    cursor: z
      .string()
      .regex(HISTORY_CURSOR_PATTERN, "must be a nextCursor from a previous page")
      .optional(),
    limit: z.number().int().min(1).max(MAX_HISTORY_LIMIT).optional(),
  })
  .strict()
  .optional();

export type ApplyInput = z.infer<typeof applyInput>;
export type RollbackInput = z.infer<typeof rollbackInput>;
export type AdoptInput = z.infer<typeof adoptInput>;
export type BaselineInput = z.infer<typeof baselineInput>;
export type ResolveInput = z.infer<typeof resolveInput>;
export type HistoryInput = z.infer<typeof historyInput>;
