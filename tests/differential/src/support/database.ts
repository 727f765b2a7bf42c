import { createTestDatabase, query, type TestDatabase } from "@studio/test-postgres";

export type Database = TestDatabase;

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
