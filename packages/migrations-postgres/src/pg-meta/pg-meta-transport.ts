import type { SqlFailure } from "@studio/migrations-core";
import { toSqlFailure } from "../sql-failure.ts";

/**
 * What came back from one `POST /query`:
 * - `rows`: it ran; the last result set that had rows (`[]` for DDL only).
 * - `sql`: it ran and Postgres refused it (HTTP 400); the batch's implicit transaction rolled back.
 * - `unknown`: it may have run, or may still be running (HTTP 408, a dropped connection, a 5xx
 *   other than the ones below).
 * - `unavailable`: it did not run (HTTP 503 too many clients, 504 no connection).
 */
export type PgMetaResponse =
  | { kind: "rows"; rows: Record<string, unknown>[] }
  | { kind: "sql"; failure: SqlFailure }
  | { kind: "unknown"; reason: string }
  | { kind: "unavailable"; reason: string };

export interface PgMetaTransportOptions {
  /** postgres-meta's base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** Sent with every request (an API key, `x-connection-encrypted`, …). */
  headers?: Record<string, string>;
  /** Gives up on a request after this long; the outcome is then unknown. Default 10 minutes. */
  requestTimeoutMs?: number;
  fetch?: typeof fetch;
}

/** One SQL batch per request, over postgres-meta's `/query`. */
export class PgMetaTransport {
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

  async query(sql: string): Promise<PgMetaResponse> {
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
