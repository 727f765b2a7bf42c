import type { ProgressEvent } from "@studio/migrations-trpc";
import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { diffLines, foldUnchanged } from "../components/interfaces/Migrations/line-diff";
import type {
  MigrationView,
  Problem,
  StatusReport,
} from "../components/interfaces/Migrations/Migrations.types";
import { applyNote, resolutionsFor } from "../components/interfaces/Migrations/Migrations.utils";
import {
  changesState,
  FINISHED_RUN_SHOWN_MS,
  foldProgress,
  forgetFinished,
  type RunsState,
  runToShow,
} from "../components/interfaces/Migrations/run-progress";
import { SqlDiff } from "../components/interfaces/Migrations/SqlDiff";
import { formatDateTime } from "../components/ui/date-time";

// The Migrations page's own logic, beside the browser tests (e2e-operator.test.ts): what they
// cannot reach with the real executors, and the rules behind what the page says.

describe("changesState", () => {
  it("refreshes the lists when a run elsewhere (another replica) finished a migration", () => {
    const recorded: ProgressEvent = {
      type: "migration_recorded",
      runId: null,
      eventId: "7",
      at: new Date(0),
      migrationName: "008_add_active_org_tracking",
      actor: "ops",
      kind: "apply",
      result: {
        migrationName: "008_add_active_org_tracking",
        status: "applied",
        executionTimeMs: 12,
        error: null,
      },
    };
    expect(changesState(recorded)).toBe(true);
    expect(changesState({ type: "heartbeat", at: new Date(0), running: [] })).toBe(false);
  });
});

describe("diffLines", () => {
  it("marks the lines only in what ran as removed and those only in the file as added, in order", () => {
    const ran = "create table t (\n  id int\n);\ncreate index on t (id);\n";
    const file = "create table t (\n  id bigint\n);\n-- an index\ncreate index on t (id);\n";
    expect(diffLines(ran, file).map((l) => [l.kind, l.text, l.oldLine, l.newLine])).toEqual([
      ["same", "create table t (", 1, 1],
      ["removed", "  id int", 2, null],
      ["added", "  id bigint", null, 2],
      ["same", ");", 3, 3],
      ["added", "-- an index", null, 4],
      ["same", "create index on t (id);", 4, 5],
    ]);
  });

  it("sees no change in a CRLF↔LF conversion, as the checksum does not", () => {
    const lines = diffLines("select 1;\r\nselect 2;\r\n", "select 1;\nselect 2;\n");
    expect(lines.every((l) => l.kind === "same")).toBe(true);
    expect(lines).toHaveLength(2);
  });

  it("handles an empty side", () => {
    expect(diffLines("", "select 1;").map((l) => l.kind)).toEqual(["added"]);
    expect(diffLines("select 1;", "").map((l) => l.kind)).toEqual(["removed"]);
    expect(diffLines("", "")).toEqual([]);
  });

  it("folds long unchanged runs, keeping three lines of context around a change", () => {
    const before = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join("\n");
    const after = before.replace("line 10", "line ten");
    const blocks = foldUnchanged(diffLines(before, after));
    expect(blocks.map((b) => (b.kind === "folded" ? `fold ${b.count}` : b.lines.length))).toEqual([
      "fold 6",
      8,
      "fold 7",
    ]);
  });
});

describe("SqlDiff", () => {
  it("renders each changed line with its side's line number and a word for screen readers", () => {
    const html = renderToStaticMarkup(
      createElement(SqlDiff, { before: "select 1;\nselect 2;\n", after: "select 1;\nselect 3;\n" }),
    );
    expect(html).toContain("1 line added, 1 removed in the file since it ran.");
    expect(html).toMatch(/data-kind="removed"[^>]*>.*?>2<.*?removed.*?select 2;/);
    expect(html).toMatch(/data-kind="added"[^>]*>.*?>2<.*?added.*?select 3;/);
  });
});

const view = (name: string, state: MigrationView["state"]): MigrationView => ({
  name,
  prefix: name.slice(0, 3),
  state,
  missing: false,
  outOfOrder: false,
  hasDown: true,
  transactional: true,
  checksum: { file: "a", recorded: state === "applied" ? "a" : null, state: "unknown" },
  appliedAt: null,
  appliedBy: null,
  executionTimeMs: null,
  rolledBackAt: null,
  rolledBackBy: null,
  lastError: null,
});

const report = (migrations: MigrationView[], problems: Problem[] = []): StatusReport => ({
  migrations,
  applied: migrations.filter((m) => m.state === "applied"),
  pending: migrations.filter((m) => m.state === "pending" && !m.missing),
  problems,
  lastApplied: migrations.filter((m) => m.state === "applied").at(-1)?.name ?? null,
});

const drift: Problem = {
  kind: "drift",
  migrationName: "001_a",
  message: "001_a changed on disk after it was applied",
  remedy: { kind: "restore_or_accept_checksum", migrationNames: ["001_a"] },
  hint: "",
  blocking: true,
};

describe("applyNote", () => {
  it("says up to date only when nothing is pending, nothing blocks and the data is fresh", () => {
    const done = report([view("001_a", "applied")]);
    expect(applyNote(done, false)).toBe("Up to date: nothing is pending.");
    expect(applyNote(done, true)).toBe("Not known to be up to date: the last refresh failed.");
    expect(applyNote(report([view("001_a", "applied")], [drift]), false)).toBe(
      "Nothing is pending, but the problems above block applies until they are resolved.",
    );
    expect(
      applyNote(report([view("001_a", "applied"), view("002_b", "pending")], [drift]), false),
    ).toBe("Applies are blocked until the problems above are resolved.");
    expect(applyNote(report([view("001_a", "running")]), false)).toBe(
      "001_a is running: applies wait until it finishes.",
    );
  });
});

describe("resolutionsFor", () => {
  const missing = (recorded: "applied" | "failed"): Problem => ({
    kind: "missing",
    migrationName: "009_gone",
    message: "009_gone is recorded but its file is missing.",
    remedy: { kind: "restore_file", migrationName: "009_gone", recorded },
    hint: "",
    blocking: false,
  });

  it("offers both resolutions for a failed migration whose file is gone, nothing for an applied one", () => {
    expect(resolutionsFor(missing("failed"))).toEqual(["applied", "rolled_back"]);
    // An applied migration without its file is undone from its row, as a mark-only rollback.
    expect(resolutionsFor(missing("applied"))).toEqual([]);
  });
});

describe("run progress", () => {
  const base = { runId: "r1", kind: "apply" as const };
  const at = new Date();
  const events: ProgressEvent[] = [
    { ...base, type: "run_started", at, migrationNames: ["001_a", "002_b"], total: 2 },
    {
      ...base,
      type: "migration_started",
      at,
      migrationName: "001_a",
      index: 0,
      total: 2,
      transactional: true,
    },
  ];

  it("follows a run: which migration, since when, how many are done, and how it ended", () => {
    let state: RunsState = new Map();
    state = foldProgress(state, events[0] as ProgressEvent, 1_000);
    state = foldProgress(state, events[1] as ProgressEvent, 1_100);
    expect(runToShow(state)).toMatchObject({
      total: 2,
      completed: 0,
      current: { migrationName: "001_a", startedAt: 1_100 },
      outcome: null,
    });
    state = foldProgress(
      state,
      {
        ...base,
        type: "run_finished",
        at,
        outcome: "failed",
        completed: 1,
        total: 2,
        failedMigration: "001_a",
        error: null,
      },
      2_000,
    );
    expect(runToShow(state)).toMatchObject({ outcome: "failed", completed: 1, current: null });
    expect(forgetFinished(state, 2_000 + FINISHED_RUN_SHOWN_MS - 1).size).toBe(1);
    expect(forgetFinished(state, 2_000 + FINISHED_RUN_SHOWN_MS).size).toBe(0);
  });

  it("picks up a run already going from a heartbeat, with the server's elapsed time", () => {
    const state = foldProgress(
      new Map(),
      {
        type: "heartbeat",
        at,
        running: [
          {
            ...base,
            migrationName: "002_b",
            index: 1,
            total: 3,
            startedAt: at,
            elapsedMs: 4_000,
          },
        ],
      },
      10_000,
    );
    expect(runToShow(state)).toMatchObject({
      total: 3,
      completed: 1,
      current: { migrationName: "002_b", startedAt: 6_000 },
    });
  });
});

describe("formatDateTime", () => {
  it("names the zone the time is shown in", () => {
    const instant = new Date("2026-12-01T18:40:12Z");
    expect(formatDateTime(instant, "UTC")).toMatch(/18:40:12 UTC/);
    expect(formatDateTime(instant, "Asia/Tokyo")).toMatch(/03:40:12 GMT\+9/);
  });
});
