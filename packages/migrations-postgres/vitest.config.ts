import { defineProject } from "vitest/config";
import { sourceConditions } from "../../vitest.shared.ts";

export default defineProject({
  ...sourceConditions,
  test: {
    name: "migrations-postgres",
    include: ["src/**/*.test.ts"],
    // One PostgreSQL server for the whole run: DATABASE_URL's, or one started for it.
    globalSetup: ["../test-postgres/src/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
