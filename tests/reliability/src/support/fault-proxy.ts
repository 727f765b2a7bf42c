import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * What the proxy does to one request instead of passing it through.
 * - `status`: answers this HTTP status. `forward: "first"` lets the request reach postgres-meta
 *   and run to the end first (the answer is lost); `"running"` sends it on and answers `afterMs`
 *   later while it still runs (as postgres-meta's own 408 does); `false` never sends it.
 * - `drop`: closes the connection without an answer, before or after the request ran.
 * - `hang`: never answers, so the client gives up at its timeout; the request ran or not.
 * - `late`: holds the request until the client has given up on it and the client's next request
 *   has been answered, then delivers it anyway, `afterMs` later (a request stuck in the network,
 *   or in a queue, that arrives after all).
 */
export type ProxyFault =
  | { kind: "status"; status: number; forward: "first" | "running" | false; afterMs?: number }
  | { kind: "drop"; forward: boolean }
  | { kind: "hang"; forward: boolean }
  | { kind: "late"; afterMs: number };

export interface ProxyRule {
  /** Which request: the first whose SQL satisfies this (once). */
  match: (sql: string) => boolean;
  fault: ProxyFault;
}

export interface FaultProxy {
  readonly url: string;
  /** Where requests go: the postgres-meta in front of which the proxy stands. */
  setUpstream(url: string): void;
  /** Faults to inject, each once, in the order given. */
  inject(...rules: ProxyRule[]): void;
  /** Rules not yet triggered. */
  pending(): number;
  /** Resolves when no request is being forwarded or held. */
  idle(): Promise<void>;
  /** What postgres-meta answered to each `late` request once it was delivered. */
  lateAnswers(): readonly string[];
  /** `/query` requests seen, and those whose fault was injected. */
  readonly counts: { requests: number; injected: number };
  close(): Promise<void>;
}

export function describeFault(fault: ProxyFault): string {
  switch (fault.kind) {
    case "status":
      return `HTTP ${fault.status}${fault.forward === "first" ? " after it ran" : fault.forward === "running" ? " while it runs" : " before it ran"}`;
    case "drop":
      return `dropped connection ${fault.forward ? "after it ran" : "before it ran"}`;
    case "hang":
      return `no answer past the client's timeout ${fault.forward ? "after it ran" : "before it ran"}`;
    case "late":
      return "delivered after the client gave up on it";
  }
}

/** A loopback HTTP proxy in front of postgres-meta that fails chosen `/query` requests. */
export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  let target = upstream;
  const rules: ProxyRule[] = [];
  const counts = { requests: 0, injected: 0 };
  const lateAnswers: string[] = [];
  const hanging = new Set<ServerResponse>();
  let busy = 0;
  let answered = 0;
  const onAnswer: (() => void)[] = [];
  let waiters: (() => void)[] = [];
  const tracked = async <T>(work: () => Promise<T>): Promise<T> => {
    busy++;
    try {
      return await work();
    } finally {
      busy--;
      if (busy === 0) {
        for (const wake of waiters) wake();
        waiters = [];
      }
    }
  };

  const forward = (
    req: IncomingMessage,
    body: string,
  ): Promise<{ status: number; type: string; text: string }> =>
    tracked(async () => {
      const method = req.method ?? "GET";
      const response = await fetch(new URL(req.url ?? "/", target), {
        method,
        headers: { "content-type": req.headers["content-type"] ?? "application/json" },
        ...(method === "GET" || method === "HEAD" ? {} : { body }),
      });
      return {
        status: response.status,
        type: response.headers.get("content-type") ?? "application/json",
        text: await response.text(),
      };
    });
  const answer = (res: ServerResponse, status: number, text: string, type = "application/json") => {
    if (res.destroyed) return;
    res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(text) });
    res.end(text);
  };
  const drop = (res: ServerResponse) => res.socket?.destroy();
  const gaveUp = (res: ServerResponse) =>
    new Promise<void>((resolve) => {
      if (res.socket === null || res.socket.destroyed) resolve();
      else res.socket.once("close", () => resolve());
    });

  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("end", () => {
      void (async () => {
        let sql = "";
        if (req.url?.startsWith("/query")) {
          counts.requests++;
          try {
            sql = String((JSON.parse(body) as { query?: unknown }).query ?? "");
          } catch {}
        }
        const index = sql === "" ? -1 : rules.findIndex((r) => r.match(sql));
        const fault = index === -1 ? null : (rules.splice(index, 1)[0]?.fault ?? null);
        if (fault !== null) counts.injected++;
        try {
          if (fault === null) {
            const upstreamAnswer = await forward(req, body);
            answer(res, upstreamAnswer.status, upstreamAnswer.text, upstreamAnswer.type);
            answered++;
            for (const wake of onAnswer.splice(0)) wake();
            return;
          }
          switch (fault.kind) {
            case "status": {
              const error = JSON.stringify({ error: `injected ${fault.status}` });
              if (fault.forward === "first") await forward(req, body);
              if (fault.forward === "running") {
                void forward(req, body).catch(() => {});
                await new Promise((resolve) => setTimeout(resolve, fault.afterMs ?? 0));
              }
              answer(res, fault.status, error);
              return;
            }
            case "drop":
              if (fault.forward) await forward(req, body);
              drop(res);
              return;
            case "hang":
              hanging.add(res);
              res.once("close", () => hanging.delete(res));
              if (fault.forward) await forward(req, body);
              return;
            case "late":
              await tracked(async () => {
                hanging.add(res);
                await gaveUp(res);
                hanging.delete(res);
                // Bounded, so that a client that sends nothing more cannot hold the proxy up.
                const seen = answered;
                const deadline = Date.now() + 15_000;
                while (answered === seen && Date.now() < deadline) {
                  await new Promise<void>((resolve) => {
                    onAnswer.push(resolve);
                    setTimeout(resolve, 250);
                  });
                }
                await new Promise((resolve) => setTimeout(resolve, fault.afterMs));
                const late = await forward(req, body).catch(() => null);
                if (late !== null) lateAnswers.push(late.text);
              });
              return;
          }
        } catch {
          // postgres-meta is not there (stopped): to the client, as if it had refused.
          drop(res);
        }
      })();
    });
  });
  // Keep-alive sockets must not hold close() up.
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    setUpstream(url) {
      target = url;
    },
    inject(...more) {
      rules.push(...more);
    },
    pending: () => rules.length,
    lateAnswers: () => lateAnswers,
    idle: () =>
      busy === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve)),
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) drop(res);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
