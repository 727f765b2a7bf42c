import { createServer, type Server } from "node:net";

export const LOOPBACK = "127.0.0.1";

function listen(port: number, host: string): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(undefined));
    server.listen({ port, host, exclusive: true }, () => resolve(server));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function boundPort(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === "string") {
    throw new Error("expected a TCP server address");
  }
  return address.port;
}

/** Whether nothing listens on `host:port` right now (by binding it briefly). */
export async function isPortFree(port: number, host = LOOPBACK): Promise<boolean> {
  const server = await listen(port, host);
  if (server === undefined) return false;
  await close(server);
  return true;
}

/**
 * A port the kernel considers free. It is released before returning, so another process can
 * still take it before the caller binds it: callers retry when that happens.
 */
export async function findFreePort(host = LOOPBACK): Promise<number> {
  const server = await listen(0, host);
  if (server === undefined) throw new Error(`cannot bind any port on ${host}`);
  const port = boundPort(server);
  await close(server);
  return port;
}

/**
 * A port `p` such that `p` and `p + 1` are both free (postgres-meta listens on both). Both are
 * held at once while checking, so the answer is consistent at the time it is given.
 */
export async function findFreePortPair(host = LOOPBACK, attempts = 50): Promise<number> {
  for (let i = 0; i < attempts; i++) {
    const first = await listen(0, host);
    if (first === undefined) throw new Error(`cannot bind any port on ${host}`);
    const port = boundPort(first);
    const second = port < 65535 ? await listen(port + 1, host) : undefined;
    await close(first);
    if (second !== undefined) {
      await close(second);
      return port;
    }
  }
  throw new Error(`no two consecutive free ports on ${host} after ${attempts} attempts`);
}
