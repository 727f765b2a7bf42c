import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { capMessage, isCutMessage, MESSAGE_CAP_BYTES } from "./message-cap.ts";

const bytes = (text: string) => Buffer.byteLength(text, "utf8");

describe("capMessage", () => {
  it("keeps a message that fits, byte for byte", () => {
    const exact = "x".repeat(MESSAGE_CAP_BYTES);
    expect(capMessage(exact)).toBe(exact);
    expect(isCutMessage(exact)).toBe(false);
  });

  it("cuts a 20 MB message to 16 KiB, marked as cut, naming the original size", () => {
    const huge = "relation does not exist ".repeat(900_000);
    const capped = capMessage(huge);
    expect(bytes(capped)).toBeLessThanOrEqual(MESSAGE_CAP_BYTES);
    expect(capped.startsWith("relation does not exist ")).toBe(true);
    expect(isCutMessage(capped)).toBe(true);
    expect(capped).toContain(`${bytes(huge)} bytes in all`);
  });

  it("never splits a multi-byte character and never exceeds the cap", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", minLength: 4000, maxLength: 9000 }), (text) => {
        fc.pre(!text.includes("\uFFFD"));
        const capped = capMessage(text);
        expect(bytes(capped)).toBeLessThanOrEqual(MESSAGE_CAP_BYTES);
        expect(capped).not.toContain("\uFFFD");
        if (bytes(text) <= MESSAGE_CAP_BYTES) expect(capped).toBe(text);
        else
          expect(text.startsWith(capped.slice(0, capped.lastIndexOf("\n… [message cut")))).toBe(
            true,
          );
      }),
      { numRuns: 50 },
    );
  });
});
