import type { PGlite } from "@electric-sql/pglite";
import { VerifyInputError } from "./errors.ts";

/** A row as the database returned it (jsonb already parsed). */
export type Row = Record<string, unknown>;

/** One connection's session, used for one piece of work and then reset or closed. */
export interface ScratchSession {
  /**
   * Sends SQL text — one statement or several — with the simple query protocol, as the engine
   * does; answers the rows of the last statement that returned any. Throws a `ScratchSqlError`
   * when Postgres refuses it, a `ScratchUnavailableError` when the connection is lost.
   */
  run(sql: string): Promise<Row[]>;
  /** Whether a transaction block is open in the session (failed or not). */
  inTransaction(): boolean;
}

/** The database verify runs migrations on. */
export interface ScratchDatabase {
  /** Names it in messages: `an in-memory PGlite database`, or the URL without its password. */
  readonly label: string;
  /**
   * Runs `work` in a pristine session — a new connection, or PGlite's one connection after
   * `DISCARD ALL` — so that what one migration did to its session (a `SET`, `SET ROLE`, a
   * temporary table) never reaches the next, as with the engine (SPEC §4 *Isolated*).
   */
  session<T>(work: (session: ScratchSession) => Promise<T>): Promise<T>;
  /**
   * Runs `work`, which only reads, in a session kept for reading: a new connection starts with
   * cold catalog caches, and filling them costs several times what reading the catalog does.
   * Migration SQL never runs in it, so there is nothing to reset.
   */
  inspect<T>(work: (session: ScratchSession) => Promise<T>): Promise<T>;
  /** Closes what this package opened; a PGlite database the caller passed in stays open. */
  close(): Promise<void>;
}

/**
 * Where verify runs the migrations:
 * - nothing: a fresh in-memory PGlite database, thrown away afterwards (the default);
 * - `{ url }`: an empty throwaway database on a real PostgreSQL server (refused unless empty);
 * - `{ pglite }`: an open PGlite database of the caller's (refused unless empty; left open).
 */
export type ScratchOptions = { readonly url: string } | { readonly pglite: PGlite };

/** How messages name the scratch database: the URL shown without its password. */
export function scratchLabel(scratch?: ScratchOptions): string {
  if (scratch === undefined) return IN_MEMORY_PGLITE;
  return "pglite" in scratch ? GIVEN_PGLITE : labelOf(scratch.url);
}

export const IN_MEMORY_PGLITE = "an in-memory PGlite database";
export const GIVEN_PGLITE = "the PGlite database given";

/** Opens the scratch database; a `{ url }` is connected to once, so a bad one fails here. */
export async function openScratchDatabase(scratch?: ScratchOptions): Promise<ScratchDatabase> {
  if (scratch === undefined) {
    const { openPGliteScratch } = await import("./scratch-pglite.ts");
    return openPGliteScratch(null);
  }
  if ("pglite" in scratch) {
    const { openPGliteScratch } = await import("./scratch-pglite.ts");
    return openPGliteScratch(scratch.pglite);
  }
  if (typeof scratch.url !== "string") {
    throw new VerifyInputError("The scratch database's url must be a string.");
  }
  const { openPostgresScratch } = await import("./scratch-postgres.ts");
  return openPostgresScratch(scratch.url);
}

/** The URL as it can be shown: the password replaced, nothing else changed. */
export function labelOf(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new VerifyInputError(
      "The scratch database URL is not a URL.",
      "Give a connection URL such as postgres://user@host:5432/verify_scratch.",
    );
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new VerifyInputError(
      `The scratch database URL must start with postgres:// or postgresql:// (got ${parsed.protocol}//…).`,
      "Give a connection URL such as postgres://user@host:5432/verify_scratch.",
    );
  }
  if (parsed.password !== "") parsed.password = "***";
  return parsed.toString();
}
