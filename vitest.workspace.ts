import type { TestProjectConfiguration } from "vitest/config";

// The one place test projects are listed. Vitest 4 no longer reads this file by itself;
// vitest.config.ts imports it.
export const projects: TestProjectConfiguration[] = [
  "packages/*/vitest.config.ts",
  "apps/*/vitest.config.ts",
  "tests/*/vitest.config.ts",
  "bench/vitest.config.ts",
];
