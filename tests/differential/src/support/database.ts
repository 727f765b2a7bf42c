import { createTestDatabase } from "@studio/test-postgres";
import pg from "pg";

export interface Database {
  name: string;
  url: string;
  drop(): Promise<void>;
}

const created: Database[] = [];

/** A fresh, empty database on the test server, dropped by {@link dropDatabases}. */
export async function freshDatabase(prefix: string): Promise<Database> {
  const db = await createTestDatabase(`diff_${prefix}`);
  created.push(db);
  return db;
}

export async function dropDatabases(): Promise<void> {
  await Promise.all(created.splice(0).map((db) => db.drop()));
}

export async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on("error", () => {});
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end().catch(() => {});
  }
}

export async function query<R extends Record<string, unknown>>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  return withClient(url, async (client) => (await client.query<R>(sql, params)).rows);
}

/** One value: the first column of the first row. */
export async function value<T>(url: string, sql: string, params: unknown[] = []): Promise<T> {
  const rows = await query<Record<string, unknown>>(url, sql, params);
  const row = rows[0];
  if (row === undefined) throw new Error(`no row from: ${sql}`);
  return Object.values(row)[0] as T;
}

export async function relationExists(url: string, name: string): Promise<boolean> {
  return value<boolean>(url, "select to_regclass($1) is not null", [name]);
}
