import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { createMigrationEngine, memorySource } from "@studio/migrations-core";
import { describe, expect, it } from "vitest";
import { DATA_DIRECTORY_LOCK_FILE, DataDirectoryInUseError } from "./data-dir-lock.ts";
import { createPGliteExecutor, openPGliteExecutor } from "./pglite-executor.ts";

describe("PGlite executor", () => {
  it("keeps what it applied in its data directory across restarts", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "pglite-executor-"));
    const source = memorySource([{ name: "001_things", sql: "CREATE TABLE things (id int);" }]);
    try {
      const first = await PGlite.create(dataDir);
      await createMigrationEngine({
        executor: createPGliteExecutor({ pglite: first }),
        source,
      }).apply({ actor: "boot-1" });
      await first.close();

      const second = await PGlite.create(dataDir);
      const executor = createPGliteExecutor({ pglite: second, closeDatabase: true });
      const status = await createMigrationEngine({ executor, source }).list();
      expect(status.applied).toMatchObject([{ name: "001_things", appliedBy: "boot-1" }]);
      expect((await second.query("select count(*)::int as n from things")).rows).toEqual([
        { n: 0 },
      ]);
      await executor.close();
      expect(second.closed).toBe(true);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("opens a data directory for one executor at a time, and lets go when it closes", async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), "pglite-executor-")), "new", "data");
    const lockFile = join(dataDir, DATA_DIRECTORY_LOCK_FILE);
    const source = memorySource([{ name: "001_things", sql: "CREATE TABLE things (id int);" }]);
    try {
      const first = await openPGliteExecutor({ dataDir });
      await createMigrationEngine({ executor: first, source }).apply({ actor: "first" });
      expect(existsSync(lockFile)).toBe(true);

      const refusal = await openPGliteExecutor({ dataDir }).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(DataDirectoryInUseError);
      expect((refusal as Error).message).toContain(`process ${process.pid} on ${hostname()}`);

      await first.close();
      expect(existsSync(lockFile)).toBe(false);
      const second = await openPGliteExecutor({ dataDir });
      const status = await createMigrationEngine({ executor: second, source }).list();
      expect(status.applied).toMatchObject([{ name: "001_things", appliedBy: "first" }]);
      await second.close();
      expect(existsSync(lockFile)).toBe(false);
    } finally {
      rmSync(join(dataDir, "..", ".."), { recursive: true, force: true });
    }
  });
});
