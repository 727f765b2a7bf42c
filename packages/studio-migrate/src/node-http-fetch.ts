import type { ClientRequest, IncomingMessage, RequestOptions } from "node:http";
import type { MigrationsClientOptions } from "@studio/migrations-trpc/client";

type LinkFetch = NonNullable<MigrationsClientOptions["fetch"]>;
type StreamFetch = NonNullable<MigrationsClientOptions["eventSource"]>["fetch"];

/** Studio answered, but not with the JSON of a tRPC response (a proxy's error page, a redirect). */
export class UnexpectedResponseError extends Error {
  override readonly name = "UnexpectedResponseError";
}

/**
 * Studio stayed silent for the whole `--timeout`: it did not accept the connection, or did not
 * start answering, or stopped sending in the middle of an answer. A silent server (one that
 * accepts and never answers) would otherwise hang the CLI for good.
 */
export class NoAnswerError extends Error {
  override readonly name = "NoAnswerError";
  readonly code = "ETIMEDOUT";
  constructor(readonly timeoutMs: number) {
    super(`no answer within ${formatSeconds(timeoutMs)}`);
  }
}

/** `15 s`, `2 s`, `0.5 s`. */
export function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}

export interface NodeHttpFetchOptions {
  /**
   * How long Studio may stay silent — before accepting the connection, before its answer starts,
   * between two chunks of it — before the request fails with {@link NoAnswerError}. `null`: no
   * limit of its own; the caller's `signal` ends the request (a run whose liveness comes from its
   * progress stream).
   */
  answerWithinMs: number | null;
}

/**
 * The `fetch` the tRPC client is given: one request over `node:http(s)`, answering with the
 * `{ ok, json() }` tRPC reads.
 *
 * Node 20's global `fetch` (undici) costs a CLI call about 90 ms: ~30 ms to load, and ~60 ms at
 * exit while V8 finishes optimising undici's llhttp WebAssembly in the background, which Node
 * waits for. A deploy runs this on every release, mostly as a no-op, so that is most of its time.
 */
export function createNodeHttpFetch(options: NodeHttpFetchOptions): LinkFetch {
  return async (input, init) => {
    const url = new URL(typeof input === "string" || input instanceof URL ? input : input.url);
    const body = init?.body ?? null;
    if (body !== null && typeof body !== "string" && !(body instanceof Uint8Array)) {
      throw new TypeError("nodeHttpFetch sends only string or byte bodies.");
    }
    const headers: Record<string, string> = {};
    // tRPC passes a plain object; referring to the global `Headers` would load undici after all.
    const given = init?.headers;
    if (Array.isArray(given)) for (const [name, value] of given) headers[name] = value;
    else if (given) Object.assign(headers, given);
    if (body !== null) headers["content-length"] = String(Buffer.byteLength(body));

    const { response, silence } = await send(
      url,
      init?.method ?? "GET",
      headers,
      body,
      init?.signal ?? null,
      options.answerWithinMs,
    );
    const chunks: Buffer[] = [];
    try {
      for await (const chunk of response) {
        silence.reset();
        chunks.push(chunk as Buffer);
      }
    } finally {
      silence.clear();
    }
    const text = Buffer.concat(chunks).toString("utf8");
    const status = response.statusCode ?? 0;
    return {
      ok: status >= 200 && status < 300,
      status,
      json: async () => {
        const location = response.headers.location;
        if (status >= 300 && status < 400 && location) {
          // A redirect is not followed: a POST re-sent elsewhere is not something to do silently.
          throw new UnexpectedResponseError(
            `HTTP ${status} redirect to ${new URL(location, url).origin}; pass that as --url`,
          );
        }
        try {
          return JSON.parse(text) as unknown;
        } catch {
          const type = response.headers["content-type"] ?? "no content type";
          const excerpt = text.trim().replace(/\s+/g, " ").slice(0, 100);
          throw new UnexpectedResponseError(
            `HTTP ${status} with ${type}, not JSON${excerpt === "" ? "" : ` (${excerpt})`}`,
          );
        }
      },
    };
  };
}

/**
 * The `fetch` an `EventSource` (the `eventsource` package) is given for `migrations.progress`:
 * the same `node:http(s)` request, answering as soon as the headers arrive, with the body as a
 * web stream that EventSource reads as events come. The headers must come within
 * `answerWithinMs`; after that the stream may stay quiet as long as it likes — whoever reads it
 * decides how long is too long (heartbeats keep a live one talking).
 */
export function createNodeStreamFetch(options: NodeHttpFetchOptions): StreamFetch {
  return async (input, init) => {
    const url = new URL(input);
    const { signal } = init as { signal?: AbortSignal };
    const { response, silence } = await send(
      url,
      "GET",
      init.headers,
      null,
      signal ?? null,
      options.answerWithinMs,
    );
    silence.clear();
    const { Readable } = await import("node:stream");
    return {
      url: url.toString(),
      status: response.statusCode ?? 0,
      redirected: false,
      headers: {
        get: (name: string) => {
          const value = response.headers[name.toLowerCase()];
          return Array.isArray(value) ? value.join(", ") : (value ?? null);
        },
      },
      body: Readable.toWeb(response),
    };
  };
}

interface Silence {
  /** Studio sent something: the silence starts over. */
  reset(): void;
  clear(): void;
}

/**
 * Sends one request and waits for the answer's headers, failing with `NoAnswerError` when Studio
 * is silent for `answerWithinMs` — which covers the connection, which Node itself would wait
 * for as long as the OS does (minutes). The returned `silence` goes on timing the body.
 */
async function send(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | Uint8Array | null,
  signal: AbortSignal | null,
  answerWithinMs: number | null,
): Promise<{ response: IncomingMessage; silence: Silence }> {
  const { request } =
    url.protocol === "https:" ? await import("node:https") : await import("node:http");
  // One call per request: no connection to keep, and nothing left open to delay exit.
  const options: RequestOptions = {
    method,
    headers: { ...headers, connection: "close" },
    agent: false,
  };
  if (signal) options.signal = signal;

  // What to end when the silence lasts: the request until it is answered, then the answer.
  let current: ClientRequest | IncomingMessage | null = null;
  let timer: NodeJS.Timeout | undefined;
  const silence: Silence = {
    reset() {
      if (answerWithinMs === null) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        current?.destroy(new NoAnswerError(answerWithinMs));
      }, answerWithinMs);
    },
    clear() {
      clearTimeout(timer);
    },
  };
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(url, options, resolve);
    current = req;
    req.on("error", (error) => {
      silence.clear();
      reject(error);
    });
    silence.reset();
    req.end(body ?? undefined);
  });
  current = response;
  response.on("close", () => silence.clear());
  silence.reset();
  return { response, silence };
}
