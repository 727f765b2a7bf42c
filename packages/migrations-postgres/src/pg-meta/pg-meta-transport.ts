import type { LockHandle } from "@studio/migrations-core";
import { toSqlFailure } from "../sql-failure.ts";
import type { Answer, Session, Transport } from "../transport.ts";

export interface PgMetaTransportOptions {
  /** postgres-meta's base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Sent with every request (an API key, `x-connection-encrypted`, …). */
  headers?: Record<string, string>;
  /** Gives up on a request after this long; the outcome is then unknown. Default 10 minutes. */
  requestTimeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * One SQL batch per request, over postgres-meta's `POST /query`, which gives every request a fresh
 * connection and runs a multi-statement batch as one implicit transaction. So a unit is one
 * request; no lock can span requests (`per-unit`); a session does not persist between statements
 * (each is a request of its own: a single statement is not wrapped in a transaction block, so
 * `CREATE INDEX CONCURRENTLY` works); and a request can reach the database after the client gave
 * up on it (`lateDelivery`). What comes back: the last result set that has rows (HTTP 200); a SQL
 * error (400), after which the batch's transaction rolled back; `unknown` for a 408, a dropped
 * connection or an unexpected 5xx (it may still run); `unavailable` for 503 too many clients and
 * 504 no connection (it did not run).
 */
export class PgMetaTransport implements Transport {
  readonly kind = "pg-meta";
  readonly lockScope = "per-unit";
  readonly lateDelivery = true;
  readonly unitOffset = 0;
  private readonly endpoint: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;

  constructor(options: PgMetaTransportOptions) {
    this.endpoint = new URL(
      "query",
      options.url.endsWith("/") ? options.url : `${options.url}/`,
    ).toString();
    this.headers = { "content-type": "application/json", ...options.headers };
    this.timeoutMs = options.requestTimeoutMs ?? 10 * 60_000;
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  unit(batch: string): Promise<Answer> {
    return this.query(batch);
  }

  session<T>(work: (session: Session) => Promise<T>): Promise<T> {
    return work({ persistent: false, run: (sql) => this.query(sql) });
  }

  /** Each unit locks for itself; there is no connection to hold a run lock on. */
  async acquireRunLock(): Promise<LockHandle> {
    return { release: async () => {} };
  }

  async close(): Promise<void> {}

  async query(sql: string): Promise<Answer> {
    let response: Response;
    try {
      response = await this.fetch(this.endpoint, {
        method: "POST",
        headers: this.headers,
        body: JSON.stringify({ query: sql }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      return { kind: "unknown", reason: `postgres-meta did not answer: ${describe(error)}` };
    }
    const text = await response.text().catch(() => "");
    const body = parseJson(text);
    if (response.ok) {
      if (Array.isArray(body)) return { kind: "rows", rows: body as Record<string, unknown>[] };
      return {
        kind: "unknown",
        reason: `postgres-meta answered ${response.status} with an unexpected body`,
      };
    }
    if (response.status === 400 && isRecord(body) && typeof body.message === "string") {
      return { kind: "sql", failure: toSqlFailure(body) };
    }
    const reason = `postgres-meta answered HTTP ${response.status}${isRecord(body) && typeof body.error === "string" ? ` (${body.error})` : ""}`;
    if (response.status === 503 || response.status === 504) return { kind: "unavailable", reason };
    return { kind: "unknown", reason };
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
    return `${error.message}${cause}`;
  }
  return String(error);
}
