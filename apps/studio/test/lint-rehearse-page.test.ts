import { byteSize, relationPhrase, rowCount, sizePhrase } from "@studio/migrations-lint/describe";
import { describe, expect, it } from "vitest";
import { applyLintGate } from "../components/interfaces/Migrations/apply-lint-gate";
import { lockWeight } from "../components/interfaces/Migrations/lock-weight";
import type {
  LintReport,
  RelationSize,
} from "../components/interfaces/Migrations/Migrations.types";
import { formatStatementTime } from "../components/interfaces/Migrations/Migrations.utils";

// The rules behind what the apply confirmation and the rehearsal dialog say; the browser tests
// (e2e-lint-rehearse.test.ts) show them on a real database.

const size = (estimatedRows: number | null, totalBytes: number | null): RelationSize => ({
  name: "public.events",
  exists: true,
  relation: "public.events",
  kind: "table",
  estimatedRows,
  totalBytes,
  lockHolders: [],
});

const report = (errors: number, warnings = 0): LintReport => ({
  findings: [],
  ignored: [],
  errors,
  warnings,
  infos: 0,
  migrations: ["002_index_events"],
  live: true,
});

describe("a finding's size, as the lint words it", () => {
  it("says rows and bytes as the lint's messages do: ≈1.2 M rows, 380 MB", () => {
    expect(sizePhrase(size(1_200_000, 380 * 1024 * 1024))).toBe("≈1.2 M rows, 380 MB");
    expect(sizePhrase(size(100_000, 12_345_678))).toBe("≈100 k rows, 12 MB");
    expect(sizePhrase(size(742, 8192))).toBe("≈742 rows, 8192 bytes");
    expect(sizePhrase(size(1, 16_384))).toBe("≈1 row, 16 kB");
    expect(relationPhrase("public.events", size(1_200_000, 380 * 1024 * 1024))).toBe(
      `public.events (${sizePhrase(size(1_200_000, 380 * 1024 * 1024))})`,
    );
  });

  it("says so when the table was never analyzed, and nothing for a table that is not there", () => {
    expect(sizePhrase(size(null, 8192))).toBe("rows unknown: never analyzed, 8192 bytes");
    expect(sizePhrase(size(5, null))).toBe("≈5 rows");
    expect(
      sizePhrase({ ...size(null, null), exists: false, relation: null, kind: null }),
    ).toBeNull();
    expect(sizePhrase(null)).toBeNull();
  });

  it("moves to the next unit at a thousand rows and at 1024 bytes", () => {
    expect(rowCount(999)).toBe("≈999 rows");
    expect(rowCount(1_000)).toBe("≈1 k rows");
    expect(rowCount(999_499)).toBe("≈999 k rows");
    expect(rowCount(2_500_000_000)).toBe("≈2.5 G rows");
    expect(byteSize(10 * 1024 - 1)).toBe("10239 bytes");
    expect(byteSize(10 * 1024)).toBe("10 kB");
    expect(byteSize(1.5 * 1024 ** 3)).toBe("1.5 GB");
  });
});

describe("lockWeight", () => {
  it("tells the locks that stop reads and writes from those that stop writes and the light ones", () => {
    expect(lockWeight("ACCESS EXCLUSIVE")).toBe("blocks-all");
    for (const mode of ["SHARE", "SHARE ROW EXCLUSIVE", "EXCLUSIVE"]) {
      expect(lockWeight(mode)).toBe("blocks-writes");
    }
    for (const mode of ["ACCESS SHARE", "ROW SHARE", "ROW EXCLUSIVE", "SHARE UPDATE EXCLUSIVE"]) {
      expect(lockWeight(mode)).toBe("light");
    }
  });
});

describe("applyLintGate", () => {
  it("applies strictly, with the usual button, when the lint found no error", () => {
    const gate = applyLintGate({ state: "linted", report: report(0, 3) });
    expect(gate).toMatchObject({ strict: true, waiting: false, label: null, variant: null });
    expect(gate.note).toMatch(/strict/);
  });

  it("says it applies despite the errors, and does not apply strictly (that would refuse)", () => {
    expect(applyLintGate({ state: "linted", report: report(1) })).toMatchObject({
      strict: false,
      label: "Apply despite 1 lint error",
      variant: "danger",
    });
    expect(applyLintGate({ state: "linted", report: report(3) }).label).toBe(
      "Apply despite 3 lint errors",
    );
  });

  it("waits for the lint, but not for ever: a slow or failed lint leaves applying possible", () => {
    expect(applyLintGate({ state: "linting", slow: false })).toMatchObject({
      waiting: true,
      label: "Linting…",
    });
    expect(applyLintGate({ state: "linting", slow: true })).toMatchObject({
      waiting: false,
      strict: false,
      label: "Apply without lint",
    });
    const failed = applyLintGate({
      state: "failed",
      error: {
        status: 501,
        code: "UNSUPPORTED",
        title: "Lint failed",
        message: "Cannot lint",
        hint: null,
        migrationName: null,
        failure: null,
        steps: [],
      },
    });
    expect(failed).toMatchObject({ waiting: false, strict: false, label: "Apply without lint" });
  });

  it("changes nothing while there is nothing to lint", () => {
    expect(applyLintGate({ state: "none" })).toMatchObject({
      strict: false,
      waiting: false,
      label: null,
      note: null,
    });
  });
});

describe("formatStatementTime", () => {
  it("keeps the fractions of short statements, which a rehearsal measures to the microsecond", () => {
    expect(formatStatementTime(0.042)).toBe("0.04 ms");
    expect(formatStatementTime(3.0625)).toBe("3.1 ms");
    expect(formatStatementTime(42.6)).toBe("43 ms");
    expect(formatStatementTime(2_345)).toBe("2.35 s");
  });
});
