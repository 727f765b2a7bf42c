import type { SqlFailure } from "@studio/migrations-core";
import type { CommandName } from "./args.ts";

/**
 * The invocation itself is wrong (unknown command or flag, a missing or malformed argument,
 * conflicting flags): exit code 2, nothing was attempted.
 */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose usage line to show, when it is known. */
    readonly command: CommandName | null = null,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

/** Why a command failed, in the shape `--json` prints as `error`. */
export interface FailureInfo {
  /** The core's stable code (`CHECKSUM_DRIFT`, `LOCK_BUSY`, …) or one of the CLI's own. */
  code: string;
  message: string;
  hint: string | null;
  migrationName: string | null;
  /** What Postgres said, when a migration's SQL failed. */
  failure: SqlFailure | null;
  /** Extra lines for the human output (one per invalid file, say). */
  details: string[];
}

/** The command ran and failed (exit code 1). */
export class CommandFailure extends Error {
  readonly info: FailureInfo;

  constructor(info: Partial<FailureInfo> & { code: string; message: string }) {
    super(info.message);
    this.name = "CommandFailure";
    this.info = {
      hint: null,
      migrationName: null,
      failure: null,
      details: [],
      ...info,
    };
  }
}

/** Turns anything thrown by a command into what the operator is told. */
export function failureInfoOf(error: unknown): FailureInfo {
  if (error instanceof CommandFailure) return error.info;
  return {
    code: "UNEXPECTED",
    message: `Unexpected error: ${error instanceof Error ? error.message : String(error)}`,
    hint: null,
    migrationName: null,
    failure: null,
    details: [],
  };
}
