import { z } from "zod";

/**
 * Input schemas: strict (unknown keys are refused) and validated before anything touches the
 * database. A name must be a migration name — which also keeps paths and SQL out of it.
 */
export const migrationName = z
  .string()
  .max(200, "is too long")
  .regex(
    /^[0-9]{3,}_[a-z0-9_]+$/,
    "must be a migration name: NNN_snake_case, e.g. 008_add_active_org_tracking",
  );

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

export const rollbackInput = z
  .object({
    migrationName,
    /** Record it as rolled back without running SQL. */
    markOnly: z.boolean().optional(),
    dryRun: z.boolean().optional(),
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
      .regex(/^[0-9]{1,19}$/, "must be a nextCursor from a previous page")
      .optional(),
    limit: z.number().int().min(1).max(500).optional(),
  })
  .strict()
  .optional();

export type ApplyInput = z.infer<typeof applyInput>;
export type RollbackInput = z.infer<typeof rollbackInput>;
export type BaselineInput = z.infer<typeof baselineInput>;
export type ResolveInput = z.infer<typeof resolveInput>;
export type HistoryInput = z.infer<typeof historyInput>;
