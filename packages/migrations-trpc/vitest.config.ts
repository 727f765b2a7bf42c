import { defineProject } from "vitest/config";

export default defineProject({
  resolve: { conditions: ["@studio/source"] },
  test: {
    name: "migrations-trpc",
    include: ["src/**/*.test.ts"],
    globalSetup: ["../test-postgres/src/global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
