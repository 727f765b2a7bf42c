import pg from "pg";
import { messageOf, ScratchSqlError, ScratchUnavailableError, sqlFailureOf } from "./errors.ts";
import { labelOf, type Row, type ScratchDatabase, type ScratchSession } from "./scratch.ts";

/** Shown in `pg_stat_activity`, so whoever looks at the server sees what the sessions are. */
const APPLICATION_NAME = "studio-migrate verify";

/**
 * A database on a real PostgreSQL server as the scratch database. Every session for migration SQL
 * is a connection of its own, closed after its work: nothing a migration does to its session can
 * outlive it. Reads share one connection, kept open until the scratch is closed.
 */
export async function openPostgresScratch(url: string): Promise<ScratchDatabase> {
  const label = labelOf(url);
  const connect = async (): Promise<pg.Client> => {
    const client = new pg.Client({ connectionString: url, application_name: APPLICATION_NAME });
    // A connection killed mid-query also emits 'error', which would crash the process unheard;
    // the query's own rejection says what happened.
    client.on("error", () => {});
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => {});
      throw new ScratchUnavailableError(label, `cannot connect: ${messageOf(error)}`);
    }
    return client;
  };
  const sessionOn = (client: pg.Client): ScratchSession => ({
    run: async (sql) => {
      let answer: pg.QueryResult | pg.QueryResult[];
      try {
        answer = await client.query(sql);
      } catch (error) {
        const failure = sqlFailureOf(error);
        if (failure) throw new ScratchSqlError(failure);
        throw new ScratchUnavailableError(label, `the connection was lost: ${messageOf(error)}`);
      }
      const results = Array.isArray(answer) ? answer : [answer];
      return (results.findLast((result) => result.rows.length > 0)?.rows ?? []) as Row[];
    },
    inTransaction: () => {
      const status = client.getTransactionStatus();
      return status === "T" || status === "E";
    },
  });

  // Connecting now reports a wrong URL before anything else is attempted.
  let reader: pg.Client | null = await connect();
  return {
    label,
    session: async (work) => {
      const client = await connect();
      try {
        return await work(sessionOn(client));
      } finally {
        await client.end().catch(() => {});
      }
    },
    inspect: async (work) => {
      reader ??= await connect();
      const client = reader;
      try {
        return await work(sessionOn(client));
      } catch (error) {
        // Whatever went wrong, the next read starts on a connection known to be good.
        reader = null;
        await client.end().catch(() => {});
        throw error;
      }
    },
    close: async () => {
      const client = reader;
      reader = null;
      await client?.end().catch(() => {});
    },
  };
}
