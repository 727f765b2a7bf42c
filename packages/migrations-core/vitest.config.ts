import { defineProject } from "vitest/config";

export default defineProject({
  resolve: { conditions: ["@studio/source"] },
  test: { name: "migrations-core", include: ["src/**/*.test.ts"] },
});
