import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** One line of `results/latest.json`. */
export interface Row {
  readonly suite: "apply" | "noop" | "round-trips" | "list" | "m008";
  readonly tool: string;
  readonly id: string;
  /** `process`: a whole process, start included; `in-process`: a call inside this process. */
  readonly mode: "in-process" | "process" | "http";
  readonly target: string;
  readonly transactions?: string;
  readonly n: number;
  /** How many times the tool ran (for a floor: every run beside every tool). */
  readonly reps: number;
  /** The tool's own times: median, quartiles, range. */
  readonly median_ms: number;
  readonly q1_ms?: number;
  readonly q3_ms?: number;
  readonly min_ms: number;
  readonly max_ms: number;
  /** The floor's id this row is compared with, when one applies. */
  readonly floor?: string | null;
  /** Repetitions in which the tool was timed beside its floor. */
  readonly pairs?: number;
  /** Median of the floor times the tool's were paired with (each the mean of its two neighbours). */
  readonly floor_median_ms?: number;
  /**
   * The paired ratio: in each repetition, the tool's time over the floor's measured beside it;
   * the median over the repetitions, and its quartiles.
   */
  readonly ratio_to_floor?: number | null;
  readonly ratio_q1?: number | null;
  readonly ratio_q3?: number | null;
  /** Apply: (tool − floor) / N in each repetition; the median and its quartiles. */
  readonly overhead_per_migration_ms?: number | null;
  readonly overhead_q1_ms?: number | null;
  readonly overhead_q3_ms?: number | null;
  /** The unpaired ratio, the tool's median over the median of all its floor's runs: for reference. */
  readonly ratio_of_medians?: number | null;
  /** Round trips: queries (pg, PGlite) or HTTP requests (postgres-meta) per applied migration. */
  readonly round_trips_per_migration?: number | null;
  /** Round trips a run makes whatever its size (state, lock, tracking tables). */
  readonly fixed_round_trips?: number | null;
  readonly noop_round_trips?: number | null;
  /** list: t ∝ n^growth_exponent from the previous size. */
  readonly growth_exponent?: number | null;
  /** m008: the concurrent writer's worst statement latency (median, min, max over reps). */
  readonly writer_worst_median_ms?: number;
  readonly writer_worst_min_ms?: number;
  readonly writer_worst_max_ms?: number;
  readonly writer_statements?: number;
}

function fmt(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined) return "";
  return value.toFixed(digits);
}

function table(headers: string[], lines: string[][]): string {
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...lines.map((l) => (l[i] ?? "").length)),
  );
  const pad = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(" | ")} |`;
  return [
    pad(headers),
    `|${widths.map((w, i) => (i === 0 ? ` ${"-".repeat(w)} ` : ` ${"-".repeat(w - 1)}: `)).join("|")}|`,
    ...lines.map(pad),
  ].join("\n");
}

/** `q1–q3`, the interquartile range, or empty when a row has none. */
function iqr(q1: number | null | undefined, q3: number | null | undefined, digits: number): string {
  return q1 == null || q3 == null ? "" : `${fmt(q1, digits)}–${fmt(q3, digits)}`;
}

/** The results as Markdown tables, one per suite: what is printed and pasted into the README. */
export function renderTables(rows: readonly Row[]): string {
  const out: string[] = [];
  for (const suite of ["apply", "noop"] as const) {
    const these = rows.filter((r) => r.suite === suite);
    if (these.length === 0) continue;
    const compared = these.filter((r) => r.ratio_to_floor != null);
    const what =
      suite === "apply"
        ? "Apply from empty (a fresh database per run)"
        : "No-op run (everything already applied)";
    if (compared.length > 0) {
      out.push(
        `${what}: paired with the floor — in each repetition the tool's time over its floor's, measured beside it; median and interquartile range over the repetitions`,
      );
      out.push(
        table(
          [
            "tool",
            "timed",
            "transactions",
            "N",
            "× floor",
            "IQR ×",
            ...(suite === "apply" ? ["Δ/migration ms", "IQR Δ ms"] : []),
            "pairs",
            "floor",
          ],
          compared.map((r) => [
            r.tool,
            r.mode,
            r.transactions ?? "",
            String(r.n),
            fmt(r.ratio_to_floor, 2),
            iqr(r.ratio_q1, r.ratio_q3, 2),
            ...(suite === "apply"
              ? [fmt(r.overhead_per_migration_ms, 2), iqr(r.overhead_q1_ms, r.overhead_q3_ms, 2)]
              : []),
            String(r.pairs ?? ""),
            r.floor ?? "",
          ]),
        ),
      );
      out.push("");
    }
    out.push(`${what}: absolute times`);
    out.push(
      table(
        [
          "tool",
          "timed",
          "transactions",
          "N",
          "median ms",
          "IQR ms",
          "min–max ms",
          "runs",
          "median / floor's median",
        ],
        these.map((r) => [
          r.tool,
          r.mode,
          r.transactions ?? "",
          String(r.n),
          fmt(r.median_ms),
          iqr(r.q1_ms, r.q3_ms, 1),
          `${fmt(r.min_ms)}–${fmt(r.max_ms)}`,
          String(r.reps),
          fmt(r.ratio_of_medians, 2),
        ]),
      ),
    );
    out.push("");
  }
  const trips = rows.filter((r) => r.suite === "round-trips");
  if (trips.length > 0) {
    out.push("Round trips (queries, or HTTP requests for postgres-meta)");
    out.push(
      table(
        ["tool", "per applied migration", "fixed per run", "whole no-op run"],
        trips.map((r) => [
          r.tool,
          fmt(r.round_trips_per_migration, 2),
          fmt(r.fixed_round_trips, 0),
          fmt(r.noop_round_trips, 0),
        ]),
      ),
    );
    out.push("");
  }
  const list = rows.filter((r) => r.suite === "list");
  if (list.length > 0) {
    out.push("list with N migrations on disk and in history");
    out.push(
      table(
        ["tool", "through", "N", "median ms", "min–max ms", "growth n^k from previous N"],
        list.map((r) => [
          r.tool,
          r.mode === "http" ? "HTTP (tRPC)" : "server-side",
          String(r.n),
          fmt(r.median_ms),
          `${fmt(r.min_ms)}–${fmt(r.max_ms)}`,
          fmt(r.growth_exponent, 2),
        ]),
      ),
    );
    out.push("");
  }
  const m008 = rows.filter((r) => r.suite === "m008");
  if (m008.length > 0) {
    out.push("Migration 008 on platform.users of N rows, with a concurrent writer");
    out.push(
      table(
        [
          "tool",
          "users",
          "median ms",
          "min–max ms",
          "writer worst stmt ms (median)",
          "writer worst min–max ms",
        ],
        m008.map((r) => [
          r.tool,
          String(r.n),
          fmt(r.median_ms),
          `${fmt(r.min_ms)}–${fmt(r.max_ms)}`,
          fmt(r.writer_worst_median_ms),
          `${fmt(r.writer_worst_min_ms)}–${fmt(r.writer_worst_max_ms)}`,
        ]),
      ),
    );
    out.push("");
  }
  return out.join("\n");
}

function escapeXml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/**
 * Horizontal bars of each tool's paired ratio to its floor (the median, with its interquartile
 * range as a whisker), one panel per N of the apply suite.
 */
export function renderChart(rows: readonly Row[]): string {
  const apply = rows.filter((r) => r.suite === "apply" && r.ratio_to_floor != null);
  const sizes = [...new Set(apply.map((r) => r.n))].sort((a, b) => a - b);
  const max = Math.max(1, ...apply.map((r) => Math.max(r.ratio_to_floor ?? 0, r.ratio_q3 ?? 0)));
  const rowHeight = 22;
  const labelWidth = 420;
  const barWidth = 420;
  const x = (ratio: number) => labelWidth + (barWidth * ratio) / max;
  const parts: string[] = [
    `<text x="10" y="20" font-size="14" font-weight="bold">Apply from empty: time over the floor's, paired per repetition (median; whisker: interquartile range; 1.0 = the floor)</text>`,
  ];
  let y = 30;
  for (const n of sizes) {
    y += 18;
    parts.push(`<text x="10" y="${y}" font-weight="bold">N = ${n}</text>`);
    const top = y + 4;
    for (const r of apply.filter((row) => row.n === n)) {
      const ratio = r.ratio_to_floor ?? 0;
      const width = Math.max(1, x(ratio) - labelWidth);
      const fill = r.tool.startsWith("engine") ? "#3b82f6" : "#9ca3af";
      const label = `${r.tool} [${r.mode}] / ${r.floor ?? ""}`;
      const mid = y + 6 + rowHeight / 2;
      parts.push(
        `<text x="${labelWidth - 6}" y="${y + 20}" text-anchor="end">${escapeXml(label)}</text>`,
        `<rect x="${labelWidth}" y="${y + 9}" width="${width.toFixed(1)}" height="${rowHeight - 6}" fill="${fill}"/>`,
      );
      if (r.ratio_q1 != null && r.ratio_q3 != null) {
        parts.push(
          `<line x1="${x(r.ratio_q1).toFixed(1)}" y1="${mid}" x2="${x(r.ratio_q3).toFixed(1)}" y2="${mid}" stroke="#111827" stroke-width="1.5"/>`,
        );
      }
      parts.push(
        `<text x="${(x(Math.max(ratio, r.ratio_q3 ?? 0)) + 4).toFixed(1)}" y="${y + 20}">${ratio.toFixed(2)}×</text>`,
      );
      y += rowHeight;
    }
    parts.push(
      `<line x1="${x(1).toFixed(1)}" y1="${top}" x2="${x(1).toFixed(1)}" y2="${y + 8}" stroke="#ef4444" stroke-dasharray="4 3"/>`,
    );
    y += 8;
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + barWidth + 80}" height="${y + 12}" font-family="sans-serif" font-size="12">`,
    ...parts,
    "</svg>",
  ].join("\n");
}

export function writeResults(dir: string, rows: readonly Row[]): { json: string; svg: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, "latest.json");
  const svg = join(dir, "latest.svg");
  writeFileSync(json, `${JSON.stringify(rows, null, 2)}\n`);
  writeFileSync(svg, renderChart(rows));
  writeFileSync(join(dir, "latest.md"), `${renderTables(rows)}\n${checkTargets(rows)}\n`);
  return { json, svg };
}

/** Fewer paired repetitions than this, and a median says too little for a verdict. */
export const MIN_PAIRS_FOR_VERDICT = 5;

/** The engine's targets (issue 15), on paired ratios. */
export const TARGETS = {
  /** Engine over pg: at most this many times the floor, by N. */
  pgRatioByN: new Map([
    [50, 1.25],
    [1000, 1.1],
  ]),
  pgliteRatio: 1.25,
  /** Engine over postgres-meta: at most this much per migration over postgres-meta's own floor. */
  pgMetaOverheadMs: 1.5,
  /** No-op `studio-migrate apply` at this N: at most this many times the floor process … */
  noopN: 1000,
  noopRatio: 1.3,
  /** … and under this many milliseconds, whole process. */
  noopMs: 150,
} as const;

function verdict(ok: boolean, row: Row): string {
  if ((row.pairs ?? 0) < MIN_PAIRS_FOR_VERDICT) {
    return `no verdict (${row.pairs ?? 0} pairs, fewer than ${MIN_PAIRS_FOR_VERDICT})`;
  }
  return ok ? "met" : "MISSED";
}

/** `1.23x [IQR 1.18–1.30], 7 pairs`: a paired ratio as the target lines say it. */
function ratioText(row: Row): string {
  return `${fmt(row.ratio_to_floor, 2)}x [IQR ${iqr(row.ratio_q1, row.ratio_q3, 2)}], ${row.pairs ?? 0} pairs`;
}

/** Whether `row` is one of the peers: another tool, timed beside a floor. */
function isPeer(row: Row): boolean {
  return row.floor != null && !row.id.startsWith("engine") && row.ratio_to_floor != null;
}

/**
 * The engine's targets, each checked on the paired ratios (or per-migration differences) of this
 * run, at every N it has: one line per target and N, ending `met`, `MISSED`, or why there is no
 * verdict (a size the run did not measure, too few pairs).
 */
export function checkTargets(rows: readonly Row[]): string {
  const find = (suite: Row["suite"], id: string, n: number) =>
    rows.find((r) => r.suite === suite && r.id === id && r.n === n);
  const sizesOf = (suite: Row["suite"]) =>
    [...new Set(rows.filter((r) => r.suite === suite).map((r) => r.n))].sort((a, b) => a - b);
  const applySizes = sizesOf("apply");
  const lines: string[] = [
    "Targets (issue 15), on paired ratios: each repetition's time over its floor's measured beside it; median [interquartile range]",
  ];

  if (rows.some((r) => r.suite === "apply" && r.id === "engine-pg")) {
    for (const [n, limit] of TARGETS.pgRatioByN) {
      const row = find("apply", "engine-pg", n);
      lines.push(
        row?.ratio_to_floor == null
          ? `- engine over pg at most ${limit.toFixed(2)}x the floor at N=${n}: not measured in this run (N = ${applySizes.join(", ")})`
          : `- engine over pg at most ${limit.toFixed(2)}x the floor at N=${n}: ${ratioText(row)}: ${verdict(row.ratio_to_floor <= limit, row)}`,
      );
    }
  }

  // Below every peer, transaction per migration: in process against the libraries in process,
  // and the CLI as a whole process against the peers' processes (dbmate and psql among them).
  for (const [engineId, label, mode] of [
    ["engine-pg", "engine over pg", "in-process"],
    ["engine-cli", "studio-migrate CLI (whole process)", "process"],
  ] as const) {
    for (const n of applySizes) {
      const engine = find("apply", engineId, n);
      const peers = rows.filter(
        (r) =>
          r.suite === "apply" &&
          r.n === n &&
          r.mode === mode &&
          r.transactions === "per migration" &&
          isPeer(r),
      );
      if (engine?.ratio_to_floor == null || peers.length === 0) continue;
      const best = peers.reduce((a, b) =>
        (b.ratio_to_floor ?? 0) < (a.ratio_to_floor ?? 0) ? b : a,
      );
      const ok = engine.ratio_to_floor < (best.ratio_to_floor ?? 0);
      lines.push(
        `- ${label} below every peer (${mode}, transaction per migration) at N=${n}: ${ratioText(engine)}; the best peer, ${best.tool}: ${ratioText(best)}: ${verdict(ok, engine)}`,
      );
    }
  }

  for (const n of applySizes) {
    const row = find("apply", "engine-pglite", n);
    if (row?.ratio_to_floor == null) continue;
    lines.push(
      `- engine over PGlite at most ${TARGETS.pgliteRatio.toFixed(2)}x PGlite's floor at N=${n}: ${ratioText(row)}: ${verdict(row.ratio_to_floor <= TARGETS.pgliteRatio, row)}`,
    );
  }

  for (const n of applySizes) {
    const row = find("apply", "engine-pg-meta", n);
    if (row?.overhead_per_migration_ms == null) continue;
    lines.push(
      `- engine over postgres-meta at most ${TARGETS.pgMetaOverheadMs} ms per migration over postgres-meta's own floor at N=${n}: ${fmt(row.overhead_per_migration_ms, 2)} ms [IQR ${iqr(row.overhead_q1_ms, row.overhead_q3_ms, 2)}], ${row.pairs ?? 0} pairs: ${verdict(row.overhead_per_migration_ms <= TARGETS.pgMetaOverheadMs, row)}`,
    );
  }

  const noopSizes = sizesOf("noop");
  const noop = find("noop", "engine-cli", TARGETS.noopN);
  if (noop?.ratio_to_floor != null) {
    lines.push(
      `- no-op studio-migrate apply at most ${TARGETS.noopRatio.toFixed(2)}x the floor process at N=${TARGETS.noopN}: ${ratioText(noop)}: ${verdict(noop.ratio_to_floor <= TARGETS.noopRatio, noop)}`,
      `- no-op studio-migrate apply under ${TARGETS.noopMs} ms, whole process, at N=${TARGETS.noopN}: ${fmt(noop.median_ms, 0)} ms median [IQR ${iqr(noop.q1_ms, noop.q3_ms, 0)}], its floor process ${fmt(noop.floor_median_ms, 0)} ms: ${verdict(noop.median_ms < TARGETS.noopMs, noop)}`,
    );
  } else if (noopSizes.length > 0) {
    lines.push(
      `- no-op studio-migrate apply at most ${TARGETS.noopRatio.toFixed(2)}x the floor process and under ${TARGETS.noopMs} ms at N=${TARGETS.noopN}: not measured in this run (N = ${noopSizes.join(", ")})`,
    );
  }

  const trips = rows.find((r) => r.suite === "round-trips" && r.id === "engine-pg-meta");
  if (trips?.round_trips_per_migration != null) {
    lines.push(
      `- postgres-meta: one request per applied migration: ${trips.round_trips_per_migration.toFixed(2)}: ${Math.abs(trips.round_trips_per_migration - 1) < 0.05 ? "met" : "MISSED"}`,
    );
  }
  return lines.join("\n");
}
