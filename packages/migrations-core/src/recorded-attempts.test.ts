import { describe, expect, it } from "vitest";
import { createMigrationEngine } from "./engine.ts";
import { MigrationBlockedError } from "./errors.ts";
import { type MigrationText, memorySource } from "./sources.ts";
import { createMemoryDatabase, MemoryExecutor } from "./testing/memory-executor.ts";

// What a failed attempt left is decided by how it ran — recorded with it — not by what its file
// says now (SPEC §4 *Non-transactional migrations*: "Editing the file does not lift the block").

describe("a partly failed transaction:false migration", () => {
  const sql = "CREATE TABLE kept (id int);\nCREATE TABLE kept (id int);\n";

  it("keeps blocking applies after transaction:false is removed from its file", async () => {
    const texts: MigrationText[] = [
      { name: "001_half", sql: `-- migrate:up transaction:false\n${sql}` },
      { name: "002_next", sql: "-- migrate:up\nCREATE TABLE next (id int);\n" },
    ];
    const database = createMemoryDatabase();
    const engine = createMigrationEngine({
      executor: new MemoryExecutor({ database }),
      source: memorySource(texts),
    });
    expect((await engine.apply({ actor: "ops" })).failed?.migrationName).toBe("001_half");

    texts[0] = { name: "001_half", sql: `-- migrate:up\n${sql}` };
    const status = await engine.list();
    expect(status.migrations.find((m) => m.name === "001_half")?.state).toBe("failed");
    expect(status.problems).toContainEqual(
      expect.objectContaining({ kind: "failed", migrationName: "001_half", blocking: true }),
    );
    await expect(engine.apply({ actor: "ops" })).rejects.toBeInstanceOf(MigrationBlockedError);
    await expect(engine.baseline({ upTo: "002_next", actor: "ops" })).rejects.toThrow();
    expect(database.tables.has("next")).toBe(false);
  });
});

describe("a transaction:false down section that fails partway", () => {
  it("blocks applies as a half-run rollback until resolved, and says so", async () => {
    const texts: MigrationText[] = [
      {
        name: "001_two_tables",
        sql: "-- migrate:up\nCREATE TABLE a (id int);\nCREATE TABLE b (id int);\n-- migrate:down transaction:false\nDROP TABLE a;\nDROP TABLE missing;\nDROP TABLE b;\n",
      },
    ];
    const engine = createMigrationEngine({
      executor: new MemoryExecutor({ database: createMemoryDatabase() }),
      source: memorySource(texts),
    });
    await engine.apply({ actor: "ops" });
    const report = await engine.rollback({ migrationName: "001_two_tables", actor: "undoer" });
    expect(report.status).toBe("failed");

    const status = await engine.list();
    expect(status.problems).toEqual([
      expect.objectContaining({
        kind: "failed",
        blocking: true,
        message: expect.stringMatching(/^001_two_tables's rollback failed partway: .*missing/),
      }),
    ]);
    texts.push({ name: "002_next", sql: "-- migrate:up\nCREATE TABLE next (id int);\n" });
    await expect(engine.apply({ actor: "ops" })).rejects.toBeInstanceOf(MigrationBlockedError);

    // Finished by hand: recorded rolled back, pending again.
    await engine.resolve({ migrationName: "001_two_tables", as: "rolled_back", actor: "ops" });
    expect((await engine.list()).problems).toEqual([]);
  });
});
