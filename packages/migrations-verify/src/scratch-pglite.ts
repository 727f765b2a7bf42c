import type { PGlite, Results } from "@electric-sql/pglite";
import { messageOf, ScratchSqlError, ScratchUnavailableError, sqlFailureOf } from "./errors.ts";
import { GIVEN_PGLITE, IN_MEMORY_PGLITE, type Row, type ScratchDatabase } from "./scratch.ts";

/**
 * PGlite as the scratch database: `given` (the caller's, left open), or a new in-memory database
 * (closed with the scratch). PGlite has one connection, so a pristine session is that connection
 * after `DISCARD ALL`.
 */
export async function openPGliteScratch(given: PGlite | null): Promise<ScratchDatabase> {
  let pglite: PGlite;
  if (given === null) {
    try {
      const { PGlite } = await import("@electric-sql/pglite");
      pglite = await PGlite.create();
    } catch (error) {
      throw new ScratchUnavailableError(
        IN_MEMORY_PGLITE,
        `PGlite did not start: ${messageOf(error)}`,
      );
    }
  } else {
    pglite = given;
  }
  const label = given === null ? IN_MEMORY_PGLITE : GIVEN_PGLITE;
  const run = async (sql: string): Promise<Row[]> => {
    let results: Results[];
    try {
      results = await pglite.exec(sql);
    } catch (error) {
      const failure = sqlFailureOf(error);
      if (failure) throw new ScratchSqlError(failure);
      throw new ScratchUnavailableError(label, messageOf(error));
    }
    return (results.findLast((result) => result.rows.length > 0)?.rows ?? []) as Row[];
  };
  const session: ScratchDatabase["session"] = async (work) => {
    if (pglite.closed) throw new ScratchUnavailableError(label, "it is closed.");
    await run("discard all");
    return work({ run, inTransaction: () => pglite.isInTransaction() });
  };
  return {
    label,
    session,
    // One connection: reading happens in the same pristine session as everything else.
    inspect: session,
    close: async () => {
      if (given === null && !pglite.closed) await pglite.close();
    },
  };
}
