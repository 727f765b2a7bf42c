import type { IncomingMessage, RequestOptions } from "node:http";
import type { MigrationsClientOptions } from "@studio/migrations-trpc/client";

type LinkFetch = NonNullable<MigrationsClientOptions["fetch"]>;

/** How long to wait for Studio to accept the connection; the call itself may take minutes. */
const CONNECT_TIMEOUT_MS = 10_000;

/** Studio answered, but not with the JSON of a tRPC response (a proxy's error page, a redirect). */
export class UnexpectedResponseError extends Error {
  override readonly name = "UnexpectedResponseError";
}

/**
 * The `fetch` the tRPC client is given: one request over `node:http(s)`, answering with the
 * `{ ok, json() }` tRPC reads.
 *
 * Node 20's global `fetch` (undici) costs a CLI call about 90 ms: ~30 ms to load, and ~60 ms at
 * exit while V8 finishes optimising undici's llhttp WebAssembly in the background, which Node
 * waits for. A deploy runs this on every release, mostly as a no-op, so that is most of its time.
 */
export const nodeHttpFetch: LinkFetch = async (input, init) => {
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
  // One call per command: no connection to keep, and nothing left open to delay exit.
  headers.connection = "close";

  const { request } =
    url.protocol === "https:" ? await import("node:https") : await import("node:http");
  const options: RequestOptions = { method: init?.method ?? "GET", headers, agent: false };
  const signal = init?.signal;
  if (signal) options.signal = signal;

  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(url, options, resolve);
    req.on("error", reject);
    const timer = setTimeout(() => {
      req.destroy(
        Object.assign(new Error(`connection not accepted within ${CONNECT_TIMEOUT_MS / 1000} s`), {
          code: "ETIMEDOUT",
        }),
      );
    }, CONNECT_TIMEOUT_MS);
    req.on("socket", (socket) => {
      if (!socket.connecting) clearTimeout(timer);
      else socket.once("connect", () => clearTimeout(timer));
    });
    req.on("close", () => clearTimeout(timer));
    req.end(body ?? undefined);
  });

  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
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
