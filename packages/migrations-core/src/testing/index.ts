export { type ConformanceHarness, describeExecutorConformance } from "./conformance.ts";
export {
  createMemoryDatabase,
  type InjectedFailure,
  type MemoryDatabase,
  MemoryExecutor,
  type MemoryExecutorOptions,
} from "./memory-executor.ts";
