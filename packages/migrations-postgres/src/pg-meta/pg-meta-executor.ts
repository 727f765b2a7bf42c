import type { Executor } from "@studio/migrations-core";
import { DEFAULT_TIMEOUTS, type Timeouts } from "../sql-failure.ts";
import { withTransport } from "../transport.ts";
import { UnitExecutor } from "../unit-executor.ts";
import { PgMetaTransport, type PgMetaTransportOptions } from "./pg-meta-transport.ts";

export interface PgMetaExecutorOptions extends PgMetaTransportOptions {
  /**
   * `lock_timeout` / `statement_timeout` set for each unit, and retries after a lock timeout.
   * (A `transaction:false` statement runs alone in its request, without them: a request that set
   * them would hold two statements and become a transaction.)
   */
  timeouts?: Partial<Timeouts>;
  /** When an outcome is unknown, how often to try to establish it before giving up. Default 5. */
  outcomeRetries?: number;
}

/**
 * An executor over postgres-meta's `POST /query`: the one executor algorithm (`UnitExecutor`)
 * over a transport of one request per unit. Applying a migration is one request; a `list` is one.
 */
export function createPgMetaExecutor(options: PgMetaExecutorOptions): Executor {
  const transport = new PgMetaTransport(options);
  const executor = new UnitExecutor({
    transport,
    timeouts: { ...DEFAULT_TIMEOUTS, ...options.timeouts },
    outcomeRetries: options.outcomeRetries ?? 5,
  });
  return withTransport(executor, transport);
}
