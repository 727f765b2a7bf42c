import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import type { TestDatabase } from "@studio/test-postgres";
import {
  type Corpus,
  generateCorpus,
  writeDbmateFormat,
  writeGraphileFormat,
  writeKyselyFormat,
  writeNodePgMigrateFormat,
  writeUpOnly,
} from "../generate.ts";
import { type BracketedRun, rotate, runBracketed } from "../paired.ts";
import type { Row } from "../report.ts";
import { freshDatabase, startPostgresMeta, waitUntilDisconnected, withClient } from "../server.ts";
import {
  type Pair,
  pairedDeltas,
  pairedRatios,
  round,
  type Summary,
  summarize,
  timed,
} from "../stats.ts";
import type { Prepared, RunTarget, Tool } from "../tools/tool.ts";

/** The corpus of `n` migrations written in every tool's format under `root`. */
export function prepare(n: number, root: string): Prepared {
  const corpus = generateCorpus(n);
  let kyselyRuns = 0;
  const empty = join(root, "empty");
  mkdirSync(empty, { recursive: true });
  return {
    corpus,
    root,
    dirs: {
      dbmate: writeDbmateFormat(join(root, "dbmate"), corpus),
      upOnly: writeUpOnly(join(root, "up-only"), corpus),
      nodePgMigrate: writeNodePgMigrateFormat(join(root, "node-pg-migrate"), corpus),
      graphile: writeGraphileFormat(join(root, "graphile"), corpus),
      empty,
    },
    kyselyDir: () => writeKyselyFormat(join(root, `kysely-${++kyselyRuns}`), corpus),
  };
}

/** A fresh target for one run of `tool`: a new database (behind postgres-meta), or a new PGlite. */
export async function openTarget(
  tool: Tool,
): Promise<{ target: RunTarget; close(): Promise<void> }> {
  if (tool.target === "pglite") {
    const pglite = await PGlite.create();
    return { target: { url: "", pglite }, close: () => pglite.close() };
  }
  const db: TestDatabase = await freshDatabase(tool.id.replaceAll("-", "_").slice(0, 24));
  if (tool.target === "pg-meta") {
    try {
      const meta = await startPostgresMeta(db.url);
      return {
        target: { url: db.url, pgMetaUrl: meta.url },
        close: async () => {
          await meta.stop();
          await db.drop();
        },
      };
    } catch (error) {
      await db.drop();
      throw error;
    }
  }
  return {
    target: { url: db.url },
    close: async () => {
      await waitUntilDisconnected(db.url);
      await db.drop();
    },
  };
}

/** Fails loudly unless every table of the corpus exists: a run that did nothing is no result. */
export async function verifyApplied(tool: Tool, target: RunTarget, corpus: Corpus): Promise<void> {
  const query =
    "select count(*)::int as n from pg_catalog.pg_tables where schemaname = 'public' and tablename like 'item\\_%'";
  let count: number;
  if (target.pglite) {
    const result = await target.pglite.query<{ n: number }>(query);
    count = result.rows[0]?.n ?? -1;
  } else {
    count = await withClient(target.url, async (client) => {
      const result = await client.query<{ n: number }>(query);
      return result.rows[0]?.n ?? -1;
    });
  }
  if (count !== corpus.tables) {
    throw new Error(`${tool.id}: expected ${corpus.tables} tables after applying, found ${count}`);
  }
}

export interface ApplySuiteOptions {
  readonly sizes: readonly number[];
  /** Repetitions: in each, every tool applies once, between two runs of its floor. */
  readonly reps: number;
  /**
   * No-op runs per repetition, after the apply, on the same database, each between two runs of
   * the no-op floor.
   */
  readonly noopReps: number;
  /** The tools to compare, their floors among them. */
  readonly tools: readonly Tool[];
  readonly tmp: string;
  readonly log: (line: string) => void;
}

/**
 * The floor a no-op run is paired with: a connection that sends nothing, made the same way (in
 * this process, or a whole Node process). PGlite has none: it has no connection to make.
 */
export function noopFloorId(tool: Tool): string | null {
  if (tool.target === "pglite") return null;
  return tool.mode === "process" ? "floor-process" : "floor";
}

/** Everything one size measured, by tool id. */
interface Measured {
  /** Each tool's applies, paired with the floor runs on either side. */
  readonly apply: Map<string, Pair[]>;
  /** Every run of each floor. */
  readonly floors: Map<string, number[]>;
  /** Each tool's no-op runs, paired with the no-op floor runs on either side. */
  readonly noop: Map<string, Pair[]>;
  /** No-op runs with no floor to pair them with (PGlite). */
  readonly noopAlone: Map<string, number[]>;
  /** Every run of each no-op floor. */
  readonly noopFloors: Map<string, number[]>;
}

function append<T>(map: Map<string, T[]>, id: string, values: readonly T[]): void {
  const list = map.get(id) ?? [];
  list.push(...values);
  map.set(id, list);
}

function record<T extends Tool | number>(
  pairs: Map<string, Pair[]>,
  floors: Map<string, number[]>,
  floorId: string,
  run: BracketedRun<T>,
  idOf: (item: T) => string,
): void {
  for (const { item, pair } of run.measured) append(pairs, idOf(item), [pair]);
  append(floors, floorId, run.floors);
}

/**
 * Applies the corpus of each size from empty with every tool, `reps` times, each time on a fresh
 * database, and answers one row per tool and size (and one per tool with a no-op run). Every
 * time is paired with its floor's measured beside it (`runBracketed`): in each repetition, the
 * tools that share a floor run one after another with a run of that floor before, between and
 * after them; which group goes first, and which tool within it, rotates from one repetition to
 * the next.
 */
export async function runApplySuite(options: ApplySuiteOptions): Promise<Row[]> {
  const byId = new Map(options.tools.map((tool) => [tool.id, tool]));
  const floorOf = (id: string, of: string): Tool => {
    const floor = byId.get(id);
    if (!floor || floor.floor !== null) throw new Error(`${of}: its floor ${id} is not a floor`);
    return floor;
  };
  const groups = options.tools
    .filter((tool) => tool.floor === null)
    .map((floor) => ({ floor, tools: options.tools.filter((tool) => tool.floor === floor.id) }));
  for (const tool of options.tools) {
    if (tool.floor !== null) floorOf(tool.floor, tool.id);
    const noopFloor = tool.noop && tool.floor !== null ? noopFloorId(tool) : null;
    if (noopFloor !== null) floorOf(noopFloor, `${tool.id}'s no-op`);
  }

  const rows: Row[] = [];
  for (const n of options.sizes) {
    const prepared = prepare(n, join(options.tmp, `apply-${n}`));
    const m: Measured = {
      apply: new Map(),
      floors: new Map(),
      noop: new Map(),
      noopAlone: new Map(),
      noopFloors: new Map(),
    };
    for (let rep = 0; rep < options.reps; rep++) {
      const where = `[apply n=${n} rep ${rep + 1}/${options.reps}]`;
      /** One run of `tool` on a fresh target: the apply, checked, then its no-op runs. */
      const measure = async (tool: Tool): Promise<number> => {
        const { target, close } = await openTarget(tool);
        try {
          const ms = await timed(() => tool.run(target, prepared, "apply"));
          await verifyApplied(tool, target, prepared.corpus);
          let noopLine = "";
          const noopFloorIdOfTool = noopFloorId(tool);
          if (tool.noop && tool.floor !== null) {
            const noop = () => timed(() => tool.run(target, prepared, "noop"));
            const times = Array.from({ length: options.noopReps }, (_, k) => k);
            if (noopFloorIdOfTool === null) {
              const alone: number[] = [];
              for (let k = 0; k < options.noopReps; k++) alone.push(await noop());
              append(m.noopAlone, tool.id, alone);
              noopLine = `, no-op ${alone.map((t) => t.toFixed(0)).join(" ")} ms`;
            } else {
              const floor = floorOf(noopFloorIdOfTool, tool.id);
              const run = await runBracketed(times, noop, () =>
                timed(() => floor.run(target, prepared, "noop")),
              );
              record(m.noop, m.noopFloors, floor.id, run, () => tool.id);
              noopLine = `, no-op ${run.measured.map(({ pair }) => `${pair.tool.toFixed(0)}/${pair.floor.toFixed(0)}`).join(" ")} ms (tool/floor)`;
            }
          }
          options.log(`${where} ${tool.id}: ${ms.toFixed(0)} ms${noopLine}`);
          return ms;
        } catch (error) {
          throw new Error(`apply n=${n}: ${tool.id} failed`, { cause: error });
        } finally {
          await close();
        }
      };
      for (const group of rotate(groups, rep)) {
        const run = await runBracketed(rotate(group.tools, rep), measure, () =>
          measure(group.floor),
        );
        record(m.apply, m.floors, group.floor.id, run, (tool) => tool.id);
        if (group.tools.length > 0) {
          options.log(
            `${where} ${run.measured.map(({ item, pair }) => `${item.id} ${(pair.tool / pair.floor).toFixed(2)}x`).join(", ")} (over ${group.floor.id})`,
          );
        }
      }
    }
    rows.push(...applyRows(n, options.tools, m), ...noopRows(n, options.tools, m));
  }
  return rows;
}

/** The absolute columns of a row: a tool's own times, whatever they are compared with. */
function absolute(samples: readonly number[]) {
  const s = summarize(samples);
  return {
    reps: samples.length,
    median_ms: round(s.median, 1),
    q1_ms: round(s.q1, 1),
    q3_ms: round(s.q3, 1),
    min_ms: round(s.min, 1),
    max_ms: round(s.max, 1),
  };
}

/** The paired columns: each repetition's ratio (and, for an apply, difference per migration). */
function paired(pairs: readonly Pair[], floorRuns: readonly number[], n: number | null) {
  const ratio = summarize(pairedRatios(pairs));
  const delta: Summary | null = n === null ? null : summarize(pairedDeltas(pairs, n));
  const tools = summarize(pairs.map((p) => p.tool));
  return {
    pairs: pairs.length,
    floor_median_ms: round(summarize(pairs.map((p) => p.floor)).median, 1),
    ratio_to_floor: round(ratio.median, 3),
    ratio_q1: round(ratio.q1, 3),
    ratio_q3: round(ratio.q3, 3),
    overhead_per_migration_ms: delta === null ? null : round(delta.median, 3),
    overhead_q1_ms: delta === null ? null : round(delta.q1, 3),
    overhead_q3_ms: delta === null ? null : round(delta.q3, 3),
    ratio_of_medians: round(tools.median / summarize(floorRuns).median, 3),
  };
}

function describe(tool: Tool) {
  return {
    tool: tool.tool,
    id: tool.id,
    mode: tool.mode,
    target: tool.target,
    transactions: tool.transactions,
  };
}

function applyRows(n: number, tools: readonly Tool[], m: Measured): Row[] {
  const rows: Row[] = [];
  for (const tool of tools) {
    if (tool.floor === null) {
      const runs = m.floors.get(tool.id);
      if (runs) rows.push({ suite: "apply", ...describe(tool), n, ...absolute(runs), floor: null });
      continue;
    }
    const pairs = m.apply.get(tool.id);
    const floorRuns = m.floors.get(tool.floor);
    if (!pairs || !floorRuns) continue;
    rows.push({
      suite: "apply",
      ...describe(tool),
      n,
      ...absolute(pairs.map((p) => p.tool)),
      floor: tool.floor,
      ...paired(pairs, floorRuns, n),
    });
  }
  return rows;
}

function noopRows(n: number, tools: readonly Tool[], m: Measured): Row[] {
  const rows: Row[] = [];
  for (const tool of tools) {
    if (tool.floor === null) {
      const runs = m.noopFloors.get(tool.id);
      if (runs) rows.push({ suite: "noop", ...describe(tool), n, ...absolute(runs), floor: null });
      continue;
    }
    const alone = m.noopAlone.get(tool.id);
    if (alone) {
      rows.push({ suite: "noop", ...describe(tool), n, ...absolute(alone), floor: null });
      continue;
    }
    const pairs = m.noop.get(tool.id);
    const floorId = noopFloorId(tool);
    const floorRuns = floorId === null ? undefined : m.noopFloors.get(floorId);
    if (!pairs || !floorRuns) continue;
    rows.push({
      suite: "noop",
      ...describe(tool),
      n,
      ...absolute(pairs.map((p) => p.tool)),
      floor: floorId,
      ...paired(pairs, floorRuns, null),
    });
  }
  return rows;
}
