import { defineProject } from "vitest/config";
import { sourceConditions } from "../../vitest.shared.ts";

export default defineProject({
  ...sourceConditions,
  test: {
    name: "differential",
    include: ["src/**/*.test.ts"],
    // One PostgreSQL server for the run, and the studio-migrate CLI built (it runs from dist/).
    globalSetup: ["./src/support/global-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
