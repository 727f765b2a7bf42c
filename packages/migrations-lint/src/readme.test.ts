import { readFileSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";
import { LINT_RULES } from "./index.ts";

const example = new URL("../examples/quick-start.ts", import.meta.url);
const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

describe("the package README", () => {
  it("shows the quick-start example verbatim", () => {
    expect(readme).toContain(readFileSync(example, "utf8").trim());
  });

  it("has an example that runs and prints what it says", async () => {
    const lines: unknown[][] = [];
    const log = vi.spyOn(console, "log").mockImplementation((...args) => {
      lines.push(args);
    });
    try {
      await import(example.href);
    } finally {
      log.mockRestore();
    }
    expect(lines).toEqual([["009_index_user_emails:2 error index-not-concurrent (SHARE)"], [1]]);
  });

  it("lists every rule in its table, with the rule's level and lock", () => {
    const rows = new Map(
      [...readme.matchAll(/^\|\s*`([a-z-]+)`\s*\|\s*(\w+)\s*\|\s*([^|]+?)\s*\|/gm)].map((m) => [
        m[1],
        m,
      ]),
    );
    expect([...rows.keys()]).toEqual(LINT_RULES.map((rule) => rule.id));
    for (const rule of LINT_RULES) {
      const row = rows.get(rule.id);
      expect(row?.[2], rule.id).toBe(rule.level);
      const lock = row?.[3]?.trim() ?? "";
      if (rule.lock === null) expect(lock, rule.id).toBe("—");
      else if (rule.lock !== "varies") expect(lock.startsWith(rule.lock), rule.id).toBe(true);
    }
  });
});
