import { defineProject } from "vitest/config";
import { sourceConditions } from "../vitest.shared.ts";

export default defineProject({
  ...sourceConditions,
  test: {
    name: "bench",
    include: ["src/**/*.test.ts"],
    // The whole-process tools run this package's scripts and the CLI from their builds: build
    // them (and what they reference) once, before the test starts.
    globalSetup: ["../packages/test-postgres/src/global-setup.ts", "./src/testing/build.ts"],
    testTimeout: 100_000,
    hookTimeout: 100_000,
  },
});
