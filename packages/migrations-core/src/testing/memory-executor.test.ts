import { describeExecutorConformance } from "./index.ts";
import { createMemoryDatabase, MemoryExecutor } from "./memory-executor.ts";

describeExecutorConformance("memory", async () => {
  const database = createMemoryDatabase();
  return {
    executor: new MemoryExecutor({ database }),
    connect: async () => new MemoryExecutor({ database, statementDelayMs: 1 }),
    tableExists: async (name) => database.tables.has(name),
    dispose: async () => {},
  };
});
