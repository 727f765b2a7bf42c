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
  readonly reps: number;
  readonly median_ms: number;
  readonly min_ms: number;
  readonly max_ms: number;
  /** The floor's id this row is compared with, when one applies. */
  readonly floor?: string | null;
  readonly overhead_per_migration_ms?: number | null;
  readonly ratio_to_floor?: number | null;
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

/** The results as Markdown tables, one per suite: what is printed and pasted into the README. */
export function renderTables(rows: readonly Row[]): string {
  const out: string[] = [];
  const apply = rows.filter((r) => r.suite === "apply" || r.suite === "noop");
  if (apply.length > 0) {
    for (const suite of ["apply", "noop"] as const) {
      const these = rows.filter((r) => r.suite === suite);
      if (these.length === 0) continue;
      out.push(
        suite === "apply"
          ? "Apply throughput (from empty; a fresh database per run)"
          : "No-op run (everything already applied)",
      );
      out.push(
        table(
          [
            "tool",
            "timed",
            "transactions",
            "N",
            "median ms",
            "min–max ms",
            ...(suite === "apply" ? ["Δ/migration ms"] : []),
            "× floor",
            "floor",
          ],
          these.map((r) => [
            r.tool,
            r.mode,
            r.transactions ?? "",
            String(r.n),
            fmt(r.median_ms),
            `${fmt(r.min_ms)}–${fmt(r.max_ms)}`,
            ...(suite === "apply" ? [fmt(r.overhead_per_migration_ms, 2)] : []),
            fmt(r.ratio_to_floor, 2),
            r.floor ?? "",
          ]),
        ),
      );
      out.push("");
    }
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

/** A horizontal bar chart of each tool's ratio to its floor at the largest N of the apply suite. */
export function renderChart(rows: readonly Row[]): string {
  const apply = rows.filter((r) => r.suite === "apply" && r.ratio_to_floor != null);
  const n = Math.max(0, ...apply.map((r) => r.n));
  const bars = apply.filter((r) => r.n === n);
  const max = Math.max(1, ...bars.map((r) => r.ratio_to_floor ?? 0));
  const rowHeight = 22;
  const labelWidth = 360;
  const barWidth = 420;
  const height = 50 + bars.length * rowHeight;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + barWidth + 80}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<text x="10" y="20" font-size="14" font-weight="bold">Apply ${n} migrations: time relative to the floor (1.0 = raw SQL over pg)</text>`,
  ];
  const oneX = labelWidth + (barWidth * 1) / max;
  bars.forEach((r, i) => {
    const y = 36 + i * rowHeight;
    const ratio = r.ratio_to_floor ?? 0;
    const width = Math.max(1, (barWidth * ratio) / max);
    const fill = r.tool.startsWith("engine") ? "#3b82f6" : "#9ca3af";
    const label = `${r.tool} [${r.mode}]`;
    parts.push(
      `<text x="${labelWidth - 6}" y="${y + 14}" text-anchor="end">${escapeXml(label)}</text>`,
      `<rect x="${labelWidth}" y="${y + 3}" width="${width.toFixed(1)}" height="${rowHeight - 6}" fill="${fill}"/>`,
      `<text x="${labelWidth + width + 4}" y="${y + 14}">${ratio.toFixed(2)}×</text>`,
    );
  });
  parts.push(
    `<line x1="${oneX.toFixed(1)}" y1="30" x2="${oneX.toFixed(1)}" y2="${height - 6}" stroke="#ef4444" stroke-dasharray="4 3"/>`,
    "</svg>",
  );
  return parts.join("\n");
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

/** This engine's targets (issue 8), checked against the run's largest N. */
export function checkTargets(rows: readonly Row[]): string {
  const find = (suite: Row["suite"], id: string) => {
    const these = rows.filter((r) => r.suite === suite && r.id === id);
    return these.find((r) => r.n === Math.max(...these.map((t) => t.n)));
  };
  const lines: string[] = ["Targets (this engine, at the largest N of this run)"];
  const verdict = (ok: boolean) => (ok ? "met" : "MISSED");
  const pgRow = find("apply", "engine-pg");
  if (pgRow?.ratio_to_floor != null) {
    lines.push(
      `- over pg, at most 1.10x the floor: ${pgRow.ratio_to_floor.toFixed(2)}x at N=${pgRow.n} (in-process): ${verdict(pgRow.ratio_to_floor <= 1.1)}`,
    );
  }
  const cliRow = find("apply", "engine-cli");
  if (cliRow?.ratio_to_floor != null) {
    lines.push(
      `  (whole process, studio-migrate CLI: ${cliRow.ratio_to_floor.toFixed(2)}x the floor process at N=${cliRow.n})`,
    );
  }
  const metaRow = find("apply", "engine-pg-meta");
  if (metaRow && pgRow && metaRow.n === pgRow.n) {
    const extra = (metaRow.median_ms - pgRow.median_ms) / metaRow.n;
    lines.push(
      `- over postgres-meta, at most 5 ms per migration more than over pg: ${extra.toFixed(2)} ms at N=${metaRow.n}: ${verdict(extra <= 5)}`,
    );
    const metaFloor = find("apply", "pg-meta-floor");
    if (metaFloor && metaFloor.n === metaRow.n) {
      lines.push(
        `  (postgres-meta's own floor, the same SQL one request per file, no bookkeeping: ${((metaFloor.median_ms - pgRow.median_ms) / metaRow.n).toFixed(2)} ms per migration more than the engine over pg; the engine over postgres-meta is ${((metaRow.median_ms - metaFloor.median_ms) / metaRow.n).toFixed(2)} ms per migration over that floor)`,
      );
    }
  }
  const noopRow = find("noop", "engine-cli");
  if (noopRow) {
    lines.push(
      `- whole-process no-op studio-migrate apply under 150 ms: ${noopRow.median_ms.toFixed(0)} ms median (${noopRow.min_ms.toFixed(0)}–${noopRow.max_ms.toFixed(0)}) at N=${noopRow.n}: ${verdict(noopRow.median_ms < 150)}`,
    );
  }
  const trips = rows.find((r) => r.suite === "round-trips" && r.id === "engine-pg-meta");
  if (trips?.round_trips_per_migration != null) {
    lines.push(
      `- postgres-meta: one request per applied migration: ${trips.round_trips_per_migration.toFixed(2)}: ${verdict(Math.abs(trips.round_trips_per_migration - 1) < 0.05)}`,
    );
  }
  return lines.join("\n");
}
