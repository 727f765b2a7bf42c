import { describe, expect, it } from "vitest";
import { parseInvocation } from "./args.ts";

describe("argv parsing", () => {
  it("takes options before or after the command", () => {
    expect(parseInvocation(["--json", "apply", "--to", "002_b", "--dry-run"])).toEqual(
      parseInvocation(["apply", "--dry-run", "--to", "002_b", "--json"]),
    );
  });
});
