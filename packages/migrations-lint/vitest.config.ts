import { defineProject } from "vitest/config";
import { sourceConditions } from "../../vitest.shared.ts";

export default defineProject({
  ...sourceConditions,
  test: {
    name: "migrations-lint",
    include: ["src/**/*.test.ts"],
    globalSetup: ["../test-postgres/src/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
