import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { createMigrationEngine, memorySource } from "@studio/migrations-core";
import { describe, expect, it } from "vitest";
import { createPGliteExecutor } from "./pglite-executor.ts";

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
});
