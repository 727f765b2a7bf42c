import pg from "pg";

export interface ServerInfo {
  readonly version: string;
  readonly versionNum: number;
}

/** `host:port` of a connection string, for messages: never the user or password. */
export function hostPort(url: string): { host: string; port: number; label: string } {
  const parsed = new URL(url);
  // libpq-style `?host=/var/run/postgresql` (a socket directory) overrides the authority part.
  const host =
    parsed.searchParams.get("host") || decodeURIComponent(parsed.hostname) || "localhost";
  const port = Number(parsed.searchParams.get("port") || parsed.port || 5432);
  return { host, port, label: `${host}:${port}` };
}

/** The same connection string pointing at another database. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** Runs `fn` with a fresh single connection, always closing it. */
export async function withClient<T>(
  url: string,
  fn: (client: pg.Client) => Promise<T>,
  connectTimeoutMs = 10_000,
): Promise<T> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: connectTimeoutMs,
  });
  // An idle client whose server goes away emits 'error'; unhandled, that would crash the worker.
  client.on("error", () => {});
  try {
    await client.connect();
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** The rows of one statement, on a fresh connection (see {@link withClient}). */
export async function query<R extends Record<string, unknown> = Record<string, unknown>>(
  url: string,
  sql: string,
  params: readonly unknown[] = [],
): Promise<R[]> {
  return withClient(url, async (client) => (await client.query<R>(sql, [...params])).rows);
}

export async function probeServer(url: string, source: string): Promise<ServerInfo> {
  try {
    return await withClient(url, async (client) => {
      const { rows } = await client.query<{ version: string; num: string }>(
        "select current_setting('server_version') as version, current_setting('server_version_num') as num",
      );
      const row = rows[0];
      if (row === undefined) throw new Error("server_version query returned no row");
      return { version: row.version.split(" ")[0] ?? row.version, versionNum: Number(row.num) };
    });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `[test-postgres] cannot connect to PostgreSQL at ${hostPort(url).label} (${source}): ${reason}`,
      { cause: error },
    );
  }
}
