import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import {
  createTestDatabase,
  getTestServer,
  query,
  startEmbeddedPostgres,
  type TestDatabase,
  withClient,
} from "./index.ts";

async function databaseExists(name: string, adminUrl?: string): Promise<boolean> {
  const url = adminUrl ?? (await getTestServer()).adminUrl;
  const rows = await query(url, "select 1 from pg_database where datname = $1", [name]);
  return rows.length === 1;
}

describe("createTestDatabase", () => {
  const created: TestDatabase[] = [];
  afterAll(async () => {
    await Promise.all(created.map((db) => db.drop()));
  });

  it("creates a reachable database and drops it", async () => {
    const db = await createTestDatabase("Reach-Me!");
    created.push(db);
    expect(db.name).toMatch(new RegExp(`^t_reach_me_${process.pid}_[0-9a-f]{8}$`));

    const current = await withClient(db.url, async (client) => {
      await client.query("create table t (id int primary key)");
      await client.query("insert into t values (1)");
      const { rows } = await client.query<{ db: string }>("select current_database() as db");
      return rows[0]?.db;
    });
    expect(current).toBe(db.name);
    expect(await databaseExists(db.name)).toBe(true);

    await db.drop();
    expect(await databaseExists(db.name)).toBe(false);
    await db.drop(); // idempotent
  });

  it("drops a database that still has open sessions", async () => {
    const db = await createTestDatabase("busy");
    created.push(db);
    const client = new pg.Client({ connectionString: db.url });
    client.on("error", () => {}); // its session is terminated by drop()
    await client.connect();
    try {
      await db.drop();
      expect(await databaseExists(db.name)).toBe(false);
    } finally {
      await client.end().catch(() => {});
    }
  });

  it("gives each database its own name", async () => {
    const [a, b] = await Promise.all([createTestDatabase("same"), createTestDatabase("same")]);
    if (a === undefined || b === undefined) throw new Error("unreachable");
    created.push(a, b);
    expect(a.name).not.toBe(b.name);
    expect(a.url).not.toBe(b.url);
    await withClient(a.url, (client) => client.query("create table only_in_a (x int)"));
    const inB = await withClient(b.url, async (client) => {
      const { rows } = await client.query<{ t: string | null }>(
        "select to_regclass('only_in_a')::text as t",
      );
      return rows[0]?.t;
    });
    expect(inB).toBeNull();
  });

  it("creates and drops a database on the server it is given instead of the run's", async () => {
    const own = await startEmbeddedPostgres();
    try {
      const db = await createTestDatabase("own_server", { server: own });
      expect(new URL(db.url).port).toBe(String(own.port));
      await withClient(db.url, (client) => client.query("create table t as select 42 as answer"));
      expect(await query<{ answer: number }>(db.url, "select answer from t")).toEqual([
        { answer: 42 },
      ]);
      expect(await databaseExists(db.name, own.adminUrl)).toBe(true);
      expect(await databaseExists(db.name)).toBe(false);
      await db.drop();
      expect(await databaseExists(db.name, own.adminUrl)).toBe(false);
    } finally {
      await own.stop();
    }
  });
});
