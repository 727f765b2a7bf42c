import { defineProject } from "vitest/config";
import { sourceConditions } from "../../vitest.shared.ts";

export default defineProject({
  ...sourceConditions,
  test: {
    name: "studio-migrate",
    include: ["src/**/*.test.ts"],
    // The CLI runs as a child process from dist/: build it once, before any test file starts.
    globalSetup: ["../test-postgres/src/global-setup.ts", "./src/testing/build-cli.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
