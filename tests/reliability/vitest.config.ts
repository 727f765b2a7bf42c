import { defineProject } from "vitest/config";
import { sourceConditions } from "../../vitest.shared.ts";

export default defineProject({
  ...sourceConditions,
  test: {
    name: "reliability",
    include: ["src/**/*.test.ts"],
    // Builds every package (the CLI runs from dist/) and Studio's production build once, and
    // provides one PostgreSQL server for the run.
    globalSetup: ["../../apps/studio/test/global-setup.ts"],
    testTimeout: 180_000,
    hookTimeout: 120_000,
  },
});
