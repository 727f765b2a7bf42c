import { describe, expect, it } from "vitest";
import { OutputTail } from "./tail.ts";

describe("OutputTail", () => {
  it("keeps the last lines, joined across chunks", () => {
    const tail = new OutputTail(2);
    for (const chunk of ["one\ntw", "o\r", "\nthree\nfo", "ur"]) tail.push(chunk);
    expect(tail.text()).toBe("two\nthree\nfour");
  });

  it("takes a 20 MB line in 64 KB chunks in linear time, and keeps it cut", () => {
    const tail = new OutputTail();
    const chunk = "x".repeat(64 * 1024);
    const started = performance.now();
    for (let written = 0; written < 20_000_000; written += chunk.length) tail.push(chunk);
    tail.push("\nready\n");
    expect(performance.now() - started).toBeLessThan(2_000);
    const [long, ready] = tail.text().split("\n");
    expect(long).toBe(`${"x".repeat(4_000)}…`);
    expect(ready).toBe("ready");
  });
});
