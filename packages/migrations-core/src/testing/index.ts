export { type ConformanceHarness, describeExecutorConformance } from "./conformance.ts";
