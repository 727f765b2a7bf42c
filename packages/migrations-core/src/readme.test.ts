import { readFileSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";

const example = new URL("../examples/quick-start.ts", import.meta.url);

describe("the package README", () => {
  it("shows the quick-start example verbatim", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    expect(readme).toContain(readFileSync(example, "utf8").trim());
  });

  it("has an example that runs and prints what its comments say", async () => {
    const lines: unknown[][] = [];
    const log = vi.spyOn(console, "log").mockImplementation((...args) => {
      lines.push(args);
    });
    try {
      await import(example.href);
    } finally {
      log.mockRestore();
    }
    expect(lines).toEqual([[["001_create_users: applied"]], [["already_applied"]], ["readme", 0]]);
  });
});
