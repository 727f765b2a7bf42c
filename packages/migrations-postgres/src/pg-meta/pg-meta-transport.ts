import { Buffer } from "node:buffer";
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
  /**
   * The largest request body postgres-meta accepts, in bytes: its `PG_META_MAX_BODY_LIMIT_MB`,
   * 3 MB unless set. A larger request is not sent (postgres-meta would close the connection
   * while it is written, `EPIPE`), and fails saying why. Default 3 MB.
   */
  maxRequestBytes?: number;
  fetch?: typeof fetch;
}

/** postgres-meta's own default for `PG_META_MAX_BODY_LIMIT_MB`. */
export const PG_META_MAX_BODY_BYTES = 3 * 1024 * 1024;

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
  /** postgres-meta answers a failed batch with the error alone. */
  readonly reportsCompleted = false;
  private readonly endpoint: string;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private readonly maxRequestBytes: number;
  private readonly fetch: typeof fetch;

  constructor(options: PgMetaTransportOptions) {
    this.endpoint = new URL(
      "query",
      options.url.endsWith("/") ? options.url : `${options.url}/`,
    ).toString();
    this.headers = { "content-type": "application/json", ...options.headers };
    this.timeoutMs = options.requestTimeoutMs ?? 10 * 60_000;
    this.maxRequestBytes = options.maxRequestBytes ?? PG_META_MAX_BODY_BYTES;
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  unit(batch: string): Promise<Answer> {
    return this.query(batch);
  }

  session<T>(work: (session: Session) => Promise<T>): Promise<T> {
    return work({
      persistent: false,
      run: (sql, signal) => this.query(sql, signal),
      unit: (batch) => this.unit(batch),
    });
  }

  /** Each unit locks for itself; there is no connection to hold a run lock on. */
  async acquireRunLock(): Promise<LockHandle> {
    return { release: async () => {} };
  }

  async close(): Promise<void> {}

  async query(sql: string, signal?: AbortSignal): Promise<Answer> {
    const request = JSON.stringify({ query: sql });
    const bytes = Buffer.byteLength(request, "utf8");
    if (bytes > this.maxRequestBytes) return tooLarge(bytes, this.maxRequestBytes);
    let response: Response;
    try {
      response = await this.fetch(this.endpoint, {
        method: "POST",
        headers: this.headers,
        body: request,
        signal:
          signal === undefined
            ? AbortSignal.timeout(this.timeoutMs)
            : AbortSignal.any([AbortSignal.timeout(this.timeoutMs), signal]),
      });
    } catch (error) {
      // A body over postgres-meta's limit (set lower than this transport was told) ends the same
      // way, the socket closed while it is written: say how large it was.
      const size =
        bytes > 1024 * 1024
          ? ` (the request was ${megabytes(bytes)}: postgres-meta closes the connection on a body over its PG_META_MAX_BODY_LIMIT_MB)`
          : "";
      return { kind: "unknown", reason: `postgres-meta did not answer: ${describe(error)}${size}` };
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
    // A body over its limit, read before it was refused (rather than the socket closed while it
    // was written, above): nothing ran.
    if (
      response.status === 413 ||
      (isRecord(body) && typeof body.error === "string" && /too large/i.test(body.error))
    ) {
      return refusedAsTooLarge(bytes);
    }
    const reason = `postgres-meta answered HTTP ${response.status}${isRecord(body) && typeof body.error === "string" ? ` (${body.error})` : ""}`;
    if (response.status === 503 || response.status === 504) return { kind: "unavailable", reason };
    return { kind: "unknown", reason };
  }
}

/**
 * A request postgres-meta would refuse for its size: not sent, so nothing ran. Said as the
 * database's refusal of the SQL (`sql`) — it is about this SQL, and will not pass by retrying —
 * so a unit's failure is recorded with it.
 */
function tooLarge(bytes: number, limit: number): Answer {
  return {
    kind: "sql",
    failure: {
      message: `The request is ${megabytes(bytes)}; postgres-meta accepts at most ${megabytes(limit)} per request, so it was not sent and nothing ran.`,
      code: null,
      detail: null,
      hint: "Split the migration into smaller ones (a large data load belongs in a file of its own, or in a tool made for it), or raise postgres-meta's PG_META_MAX_BODY_LIMIT_MB and the executor's maxRequestBytes with it.",
      position: null,
    },
  };
}

/** postgres-meta read a request and refused it for its size: nothing ran. */
function refusedAsTooLarge(bytes: number): Answer {
  const { failure } = tooLarge(bytes, PG_META_MAX_BODY_BYTES) as Extract<Answer, { kind: "sql" }>;
  return {
    kind: "sql",
    failure: {
      ...failure,
      message: `postgres-meta refused the request as too large: the request was ${megabytes(bytes)}, over its PG_META_MAX_BODY_LIMIT_MB; nothing ran.`,
    },
  };
}

function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, "")} MB`;
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
