import type { SqlFailure } from "@studio/migrations-core";

/** The stable codes of the conditions that stop a verification before any migration runs. */
export type VerifyErrorCode = "SCRATCH_NOT_EMPTY" | "SCRATCH_UNAVAILABLE" | "INVALID_INPUT";

/** A condition that stops a verification before it starts, with what to do about it. */
export class VerifyError extends Error {
  constructor(
    readonly code: VerifyErrorCode,
    message: string,
    readonly hint: string | null = null,
  ) {
    super(message);
    this.name = "VerifyError";
  }
}

/**
 * The scratch database already holds objects of its own. Verify runs every migration's up and
 * down sections there, and a down section drops what it names: on a real database that is data
 * lost, so anything but an empty database is refused before a single statement runs.
 */
export class ScratchNotEmptyError extends VerifyError {
  constructor(
    /** Where (the URL without its password). */
    readonly scratch: string,
    /** What is there, as fingerprint keys (`table app.accounts`), in fingerprint order. */
    readonly objects: readonly string[],
  ) {
    const shown = objects.slice(0, 5).join(", ");
    const more = objects.length > 5 ? `, and ${objects.length - 5} more` : "";
    super(
      "SCRATCH_NOT_EMPTY",
      `Refusing to verify on ${scratch}: it is not an empty database (it holds ${shown}${more}). Verify runs every migration's up and down sections on its scratch database, and the down sections drop what they name: it never runs on a database that holds anything.`,
      "Give --scratch-url an empty throwaway database (e.g. `createdb verify_scratch`, dropped afterwards), or leave --scratch-url out to verify on an in-memory PGlite.",
    );
    this.name = "ScratchNotEmptyError";
  }
}

/** The scratch database cannot be reached, or the connection to it was lost. */
export class ScratchUnavailableError extends VerifyError {
  constructor(scratch: string, reason: string) {
    super(
      "SCRATCH_UNAVAILABLE",
      `Cannot use the scratch database ${scratch}: ${reason}`,
      "Check that the server is up and that the URL names an existing database the user may connect to and create objects in.",
    );
    this.name = "ScratchUnavailableError";
  }
}

/** What verify was given cannot be verified as it is (a malformed URL, two migrations with one name). */
export class VerifyInputError extends VerifyError {
  constructor(message: string, hint: string | null = null) {
    super("INVALID_INPUT", message, hint);
    this.name = "VerifyInputError";
  }
}

/** Postgres refused a statement sent to the scratch database. */
export class ScratchSqlError extends Error {
  constructor(readonly failure: SqlFailure) {
    super(failure.message);
    this.name = "ScratchSqlError";
  }
}

/**
 * What the database said, from a `pg` or PGlite error (both carry Postgres' error fields); `null`
 * for anything that is not an answer from Postgres (a lost connection has no SQLSTATE).
 */
export function sqlFailureOf(error: unknown): SqlFailure | null {
  if (typeof error !== "object" || error === null) return null;
  const fields = error as Record<string, unknown>;
  const text = (key: string) =>
    typeof fields[key] === "string" && fields[key] !== "" ? (fields[key] as string) : null;
  const code = text("code");
  // Node's own errors have codes too (EPIPE): only Postgres' answers carry a severity.
  if (code === null || !/^[0-9A-Z]{5}$/.test(code) || text("severity") === null) return null;
  const position = Number(text("position") ?? Number.NaN);
  return {
    message: text("message") ?? String(error),
    code,
    detail: text("detail"),
    hint: text("hint"),
    position: Number.isInteger(position) && position > 0 ? position : null,
  };
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
