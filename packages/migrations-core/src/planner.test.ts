import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MigrationNotFoundError, StateConflictError } from "./errors.ts";
import { compareMigrationNames } from "./migration.ts";
import { planApply, planResolve, planStatus } from "./planner.ts";
import type { MigrationRecord, RecordedStatus } from "./records.ts";
import { loadMigrationTexts } from "./sources.ts";

const at = new Date("2026-01-01T00:00:00Z");

function record(
  migrationName: string,
  status: RecordedStatus,
  checksum: string | null,
  extra: Partial<MigrationRecord> = {},
): MigrationRecord {
  return {
    migrationName,
    status,
    appliedAt: at,
    appliedBy: "test",
    errorMessage: status === "failed" ? "boom" : null,
    executionTimeMs: 1,
    checksum,
    rolledBackAt: status === "rolled_back" ? at : null,
    rolledBackBy: status === "rolled_back" ? "test" : null,
    ...extra,
  };
}

describe("planStatus", () => {
  it("shows an applied migration whose file is gone as missing, and not as a problem", () => {
    const { migrations } = loadMigrationTexts([{ name: "001_a", sql: "select 1;" }]);
    const status = planStatus({
      migrations,
      records: [
        record("001_a", "applied", migrations[0]?.checksum ?? null),
        record("002_gone", "applied", "x"),
      ],
    });
    expect(status.migrations.map((m) => [m.name, m.state, m.missing])).toEqual([
      ["001_a", "applied", false],
      ["002_gone", "applied", true],
    ]);
    expect(status.problems).toEqual([]);
    expect(status.lastApplied).toBe("002_gone");
  });

  it("reports a failed migration whose file is gone as missing, to restore or resolve", () => {
    const status = planStatus({
      migrations: [],
      records: [record("002_gone", "failed", "x", { transactional: false })],
    });
    expect(status.problems).toMatchObject([
      {
        kind: "missing",
        migrationName: "002_gone",
        remedy: { kind: "restore_file", recorded: "failed" },
      },
      { kind: "failed", migrationName: "002_gone", blocking: true },
    ]);
  });

  it("gives a UI row everything: who, when, how long, checksum state and the SQL of what is pending", () => {
    const { migrations } = loadMigrationTexts([
      { name: "001_a", sql: "-- migrate:up\nselect 1;\n-- migrate:down\nselect 0;" },
      { name: "002_b", sql: "select 2;" },
    ]);
    const status = planStatus({
      migrations,
      records: [record("001_a", "applied", migrations[0]?.checksum ?? null)],
    });
    expect(status.applied[0]).toMatchObject({
      name: "001_a",
      appliedBy: "test",
      appliedAt: at,
      executionTimeMs: 1,
      hasDown: true,
      checksum: { state: "match" },
    });
    expect(status.pending[0]).toMatchObject({
      name: "002_b",
      hasDown: false,
      checksum: { state: "unknown" },
    });
  });

  it("takes the most recently applied by time, then by order, as the one to roll back", () => {
    const { migrations } = loadMigrationTexts([
      { name: "001_a", sql: "select 1;" },
      { name: "002_b", sql: "select 2;" },
      { name: "003_c", sql: "select 3;" },
    ]);
    const later = new Date(at.getTime() + 1000);
    const status = planStatus({
      migrations,
      records: [
        record("001_a", "applied", null, { appliedAt: later }),
        record("002_b", "applied", null),
        record("003_c", "applied", null),
      ],
    });
    expect(status.lastApplied).toBe("001_a");
  });
});

// A random history: each migration is unknown, applied (maybe drifted), rolled back, or failed
// in a transaction; some records have lost their files.
const scenario = fc
  .uniqueArray(fc.integer({ min: 1, max: 400 }), { minLength: 0, maxLength: 25 })
  .chain((prefixes) =>
    fc.tuple(
      fc.constant(prefixes),
      fc.array(fc.constantFrom("none", "applied", "drift", "rolled_back", "failed", "missing"), {
        minLength: prefixes.length,
        maxLength: prefixes.length,
      }),
    ),
  )
  .map(([prefixes, states]) => {
    const texts: { name: string; sql: string }[] = [];
    const records: MigrationRecord[] = [];
    prefixes.forEach((p, i) => {
      const name = `${String(p).padStart(3, "0")}_m`;
      const sql = `select ${p};`;
      const state = states[i];
      if (state !== "missing") texts.push({ name, sql });
      const sum = loadMigrationTexts([{ name, sql }]).migrations[0]?.checksum ?? null;
      if (state === "applied" || state === "missing") records.push(record(name, "applied", sum));
      if (state === "drift") records.push(record(name, "applied", "0".repeat(64)));
      if (state === "rolled_back") records.push(record(name, "rolled_back", sum));
      if (state === "failed") records.push(record(name, "failed", sum));
    });
    return { migrations: loadMigrationTexts(texts).migrations, records };
  });

describe("planner invariants (property-based)", () => {
  it("lists every known migration once, in order, and never one both pending and applied", () => {
    fc.assert(
      fc.property(scenario, (input) => {
        const status = planStatus(input);
        const names = status.migrations.map((m) => m.name);
        const known = new Set([
          ...input.migrations.map((m) => m.name),
          ...input.records.map((r) => r.migrationName),
        ]);
        expect(new Set(names).size).toBe(names.length);
        expect(new Set(names)).toEqual(known);
        expect([...names].sort(compareMigrationNames)).toEqual(names);
        const applied = new Set(status.applied.map((m) => m.name));
        expect(status.pending.filter((m) => applied.has(m.name))).toEqual([]);
        const pending = status.pending.map((m) => m.name);
        expect([...pending].sort(compareMigrationNames)).toEqual(pending);
      }),
    );
  });

  it("plans all pending, in order; applying that plan leaves nothing pending", () => {
    fc.assert(
      fc.property(scenario, (input) => {
        const status = planStatus(input);
        if (status.problems.some((p) => p.blocking)) {
          expect(() => planApply(input, { kind: "all" }, { allowOutOfOrder: true })).toThrow();
          return;
        }
        const plan = planApply(input, { kind: "all" }, { allowOutOfOrder: true });
        expect(plan.steps.map((m) => m.name)).toEqual(status.pending.map((m) => m.name));
        const after = [
          ...input.records.filter((r) => !plan.steps.some((m) => m.name === r.migrationName)),
          ...plan.steps.map((m) => record(m.name, "applied", m.checksum)),
        ];
        const replanned = planStatus({ migrations: input.migrations, records: after });
        expect(replanned.pending).toEqual([]);
        expect(
          planApply({ migrations: input.migrations, records: after }, { kind: "all" }).steps,
        ).toEqual([]);
      }),
    );
  });

  it("plans upTo as the pending migrations up to the target, a prefix of all pending", () => {
    fc.assert(
      fc.property(scenario, fc.nat(), (input, pick) => {
        const status = planStatus(input);
        if (status.problems.some((p) => p.blocking) || input.migrations.length === 0) return;
        const target = input.migrations[pick % input.migrations.length]?.name as string;
        const steps = planApply(
          input,
          { kind: "upTo", migrationName: target },
          { allowOutOfOrder: true },
        ).steps.map((m) => m.name);
        const pending = status.pending.map((m) => m.name);
        expect(pending.slice(0, steps.length)).toEqual(steps);
        expect(steps.every((n) => compareMigrationNames(n, target) <= 0)).toBe(true);
        expect(pending.slice(steps.length).every((n) => compareMigrationNames(n, target) > 0)).toBe(
          true,
        );
      }),
    );
  });

  it("never plans an out-of-order migration unless allowed", () => {
    fc.assert(
      fc.property(scenario, (input) => {
        const status = planStatus(input);
        if (status.problems.some((p) => p.blocking)) return;
        const outOfOrder = status.pending.some((m) => m.outOfOrder);
        if (outOfOrder)
          expect(() => planApply(input, { kind: "all" })).toThrow(/older than the newest applied/);
        else expect(planApply(input, { kind: "all" }).steps).toHaveLength(status.pending.length);
      }),
    );
  });
});

describe("planResolve of a migration whose file is gone (SPEC §4 Records without a file)", () => {
  const gone = (extra: Partial<MigrationRecord> = {}) =>
    record("002_gone", "failed", "recorded-sum", {
      transactional: false,
      executionTimeMs: null,
      ...extra,
    });

  it("marks a failed or interrupted one applied with the checksum its attempt recorded", () => {
    for (const failed of [gone(), gone({ executionTimeMs: 12 }), gone({ transactional: true })]) {
      expect(planResolve({ migrations: [], records: [failed] }, "002_gone", "applied")).toEqual({
        kind: "mark_applied",
        migrationName: "002_gone",
        checksum: "recorded-sum",
        action: "resolve",
        expect: ["failed"],
      });
    }
  });

  it("leaves no problem once resolved as applied, nor as rolled back", () => {
    for (const status of ["applied", "rolled_back"] as const) {
      const resolved = record("002_gone", status, "recorded-sum");
      expect(planStatus({ migrations: [], records: [resolved] }).problems).toEqual([]);
    }
  });

  it("refuses, saying why, when the record holds no checksum", () => {
    const plan = () =>
      planResolve({ migrations: [], records: [gone({ checksum: null })] }, "002_gone", "applied");
    expect(plan).toThrow(StateConflictError);
    expect(plan).toThrow(/no checksum/);
  });

  it("refuses one recorded as rolled back, and a name nothing knows", () => {
    const rolledBack = record("002_gone", "rolled_back", "recorded-sum");
    expect(() =>
      planResolve({ migrations: [], records: [rolledBack] }, "002_gone", "applied"),
    ).toThrow(StateConflictError);
    expect(() => planResolve({ migrations: [], records: [] }, "002_gone", "applied")).toThrow(
      MigrationNotFoundError,
    );
  });
});
