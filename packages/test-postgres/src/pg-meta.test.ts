import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, isPortFree, startPgMeta, type TestDatabase } from "./index.ts";

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("startPgMeta", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase("pgmeta");
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("runs the real postgres-meta against the database and frees its ports on stop", async () => {
    const meta = await startPgMeta(db.url);
    try {
      expect(meta.url).toBe(`http://127.0.0.1:${meta.port}`);
      expect(meta.metricsPort).toBe(meta.port + 1);

      const res = await fetch(`${meta.url}/query`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "select 1 as x" }),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual([{ x: 1 }]);

      const where = await fetch(`${meta.url}/query`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "select current_database() as db" }),
      });
      expect(await where.json()).toEqual([{ db: db.name }]);
    } finally {
      await meta.stop();
    }
    expect(isAlive(meta.pid)).toBe(false);
    expect(await isPortFree(meta.port)).toBe(true);
    expect(await isPortFree(meta.metricsPort)).toBe(true);
    await meta.stop(); // idempotent
  });

  it("fails clearly, with postgres-meta's output, when it cannot start", async () => {
    // A directory as a secret file makes postgres-meta's start-up throw EISDIR and exit.
    await expect(startPgMeta(db.url, { env: { CRYPTO_KEY_FILE: "/" } })).rejects.toThrow(
      /postgres-meta exited[\s\S]*EISDIR/,
    );
  });
});
