import { describe, expect, it } from "vitest";
import type { Problem } from "../components/interfaces/Migrations/Migrations.types";
import { PROBLEM_LABELS, problemLabel } from "../components/interfaces/Migrations/Migrations.utils";

const problem = (kind: Problem["kind"], blocking: boolean) => ({ kind, blocking });

describe("problemLabel", () => {
  it("reads a file problem that blocks nothing (a misnamed .sql, an ignored option) as a warning", () => {
    expect(problemLabel(problem("invalid_file", false))).toBe("File warning");
  });

  it("keeps 'Invalid file' for a file that does not load, and every other kind's own label", () => {
    expect(problemLabel(problem("invalid_file", true))).toBe("Invalid file");
    for (const kind of Object.keys(PROBLEM_LABELS) as Problem["kind"][]) {
      if (kind === "invalid_file") continue;
      for (const blocking of [true, false]) {
        expect(problemLabel(problem(kind, blocking))).toBe(PROBLEM_LABELS[kind]);
      }
    }
  });
});
