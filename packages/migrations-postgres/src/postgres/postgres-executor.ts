import {
  type Executor,
  LockBusyError,
  type LockHandle,
  type LockOptions,
} from "@studio/migrations-core";
import pg from "pg";
import { DEFAULT_TIMEOUTS, type Timeouts } from "../sql-failure.ts";
import { RUN_LOCK } from "../tracking-sql.ts";
import { withTransport } from "../transport.ts";
import { UnitExecutor } from "../unit-executor.ts";
import { PostgresTransport } from "./postgres-transport.ts";

export interface PostgresExecutorOptions {
  /** A `postgres://` URL, or a `pg` client configuration. */
  connection: string | pg.ClientConfig;
  /** `lock_timeout` / `statement_timeout` for migration SQL, and retries after a lock timeout. */
  timeouts?: Partial<Timeouts>;
  /**
   * Connections kept for units of work (the run lock has one of its own). Default 4; at least 2:
   * a `transaction:false` section records its claim and outcome on a second connection while
   * its own keeps the runner lock.
   */
  poolSize?: number;
}

/**
 * An executor over a direct PostgreSQL connection (`pg`). A run holds an advisory lock on
 * a connection of its own, so appliers in other processes and on other hosts wait for it; the
 * lock goes with the connection if its holder dies. Each unit also takes a transaction-level
 * advisory lock, so even appliers that bypass the run lock apply a migration only once.
 */
export function createPostgresExecutor(options: PostgresExecutorOptions): Executor {
  const config: pg.ClientConfig =
    typeof options.connection === "string"
      ? { connectionString: options.connection }
      : options.connection;
  const pool = new pg.Pool({
    application_name: "studio-migrations",
    ...config,
    max: Math.max(2, options.poolSize ?? 4),
  });
  const transport = new PostgresTransport(pool, (lock) => acquireRunLock(config, lock));
  const executor = new UnitExecutor({
    transport,
    timeouts: { ...DEFAULT_TIMEOUTS, ...options.timeouts },
    // A lost connection's outcome is established once, under the unit lock; a database that
    // does not answer that is unavailable.
    outcomeRetries: 0,
  });
  return withTransport(executor, transport);
}

/**
 * Waits for the run lock for at most `timeoutMs`, and on time-out names the holder from
 * `pg_stat_activity`.
 *
 * The lock is transaction-scoped, held by a transaction left open on a connection of its own for
 * the whole run, rather than a session lock: through a pooler in transaction mode (PgBouncer) a
 * session lock stays with whichever server connection took it, which then serves other clients —
 * exclusion silently stops, and the unlock may reach another connection and leave the lock stuck.
 * An open transaction pins its server connection to this client in every pooling mode, and the
 * lock ends with it: on release, or when the client dies.
 *
 * Neither the holder nor a waiter may keep a snapshot: `CREATE INDEX CONCURRENTLY` waits for
 * every transaction of the database that has one, so a migration building an index would wait
 * for the very appliers queued behind it (and give up at its `lock_timeout`, leaving an invalid
 * index). So the lock is requested with the simple protocol (the extended protocol's portal keeps
 * its snapshot until the next statement) and polled with `pg_try_advisory_xact_lock` in short
 * transactions instead of waited for inside one.
 */
async function acquireRunLock(
  config: pg.ClientConfig,
  { timeoutMs, holder }: LockOptions,
): Promise<LockHandle> {
  const client = new pg.Client({
    ...config,
    application_name: `studio-migrations: ${holder}`.slice(0, 63),
  });
  // A server-side termination otherwise surfaces as an unhandled 'error' event.
  client.on("error", () => {});
  await client.connect();
  const deadline = Date.now() + Math.max(0, timeoutMs);
  try {
    for (let attempt = 0; ; attempt++) {
      // One simple-protocol round trip; constants inlined, so no portal outlives the statement.
      // The transaction sits idle for the whole run by design: a server-wide
      // idle_in_transaction_session_timeout would otherwise end it, and the lock with it, while
      // the run goes on unprotected. It holds no snapshot, so exempting it costs nothing.
      const results = (await client.query(
        `begin; set local idle_in_transaction_session_timeout = 0; select pg_try_advisory_xact_lock(${RUN_LOCK[0]}, ${RUN_LOCK[1]}) as locked`,
      )) as unknown as pg.QueryResult<{ locked: boolean }>[];
      if (results.at(-1)?.rows[0]?.locked) break;
      await client.query("rollback");
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw Object.assign(new Error("lock not available"), { code: "55P03" });
      const backoff = Math.min(250, 10 * 1.5 ** attempt) * (0.5 + Math.random() / 2);
      await new Promise((resolve) => setTimeout(resolve, Math.min(remaining, backoff)));
    }
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    await client.query("rollback").catch(() => {});
    const busy = code === "55P03" ? await describeHolder(client).catch(() => null) : undefined;
    await client.end().catch(() => {});
    if (busy !== undefined) throw new LockBusyError(busy, timeoutMs);
    throw error;
  }
  let released = false;
  return {
    release: async () => {
      if (released) return;
      released = true;
      // Ending the transaction — or, failing that, the connection — releases the lock.
      await client.query("rollback").catch(() => {});
      await client.end().catch(() => {});
    },
  };
}

async function describeHolder(client: pg.Client): Promise<string | null> {
  const { rows } = await client.query<{
    pid: number;
    application_name: string;
    client_addr: string | null;
    backend_start: Date;
  }>(
    `select a.pid, a.application_name, a.client_addr::text as client_addr, a.backend_start
       from pg_locks l join pg_stat_activity a on a.pid = l.pid
      where l.locktype = 'advisory' and l.granted
        and l.classid = $1::int::oid and l.objid = $2::int::oid and l.objsubid = 2`,
    [...RUN_LOCK],
  );
  const row = rows[0];
  if (!row) return null;
  const who = row.application_name.replace(/^studio-migrations: /, "") || "an unnamed session";
  return `${who}, backend pid ${row.pid}${row.client_addr ? ` from ${row.client_addr}` : ""}, connected since ${row.backend_start.toISOString()}`;
}
