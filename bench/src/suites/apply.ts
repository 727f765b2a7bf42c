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
import type { Row } from "../report.ts";
import { freshDatabase, startPostgresMeta, waitUntilDisconnected, withClient } from "../server.ts";
import { round, summarize, timed } from "../stats.ts";
import type { Phase, Prepared, RunTarget, Tool } from "../tools/tool.ts";

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
  readonly reps: number;
  /** No-op runs per repetition, after the apply, on the same database. */
  readonly noopReps: number;
  readonly tools: readonly Tool[];
  readonly tmp: string;
  readonly log: (line: string) => void;
}

/** The id of the floor a no-op run is compared with: a connection that sends nothing. */
function noopFloor(tool: Tool): string | null {
  if (tool.target === "pglite") return null;
  return tool.mode === "process" ? "floor-process" : "floor";
}

export async function runApplySuite(options: ApplySuiteOptions): Promise<Row[]> {
  const rows: Row[] = [];
  for (const n of options.sizes) {
    const prepared = prepare(n, join(options.tmp, `apply-${n}`));
    const samples = new Map<string, number[]>();
    const noops = new Map<string, number[]>();
    const push = (map: Map<string, number[]>, id: string, ms: number) => {
      const list = map.get(id) ?? [];
      list.push(ms);
      map.set(id, list);
    };
    for (let rep = 0; rep < options.reps; rep++) {
      // Interleaved: every tool once per repetition, starting at a different tool each time.
      const shift = (rep * Math.ceil(options.tools.length / options.reps)) % options.tools.length;
      const order = [...options.tools.slice(shift), ...options.tools.slice(0, shift)];
      for (const tool of order) {
        const { target, close } = await openTarget(tool);
        try {
          const ms = await timed(() => tool.run(target, prepared, "apply"));
          await verifyApplied(tool, target, prepared.corpus);
          push(samples, tool.id, ms);
          let noopLine = "";
          if (tool.noop) {
            const phase: Phase = "noop";
            for (let k = 0; k < options.noopReps; k++) {
              const noopMs = await timed(() => tool.run(target, prepared, phase));
              push(noops, tool.id, noopMs);
              noopLine += ` ${noopMs.toFixed(0)}`;
            }
            noopLine = `, no-op${noopLine} ms`;
          }
          options.log(
            `[apply n=${n} rep ${rep + 1}/${options.reps}] ${tool.id}: ${ms.toFixed(0)} ms${noopLine}`,
          );
        } catch (error) {
          throw new Error(`apply n=${n}: ${tool.id} failed`, { cause: error });
        } finally {
          await close();
        }
      }
    }
    const median = (map: Map<string, number[]>, id: string | null) => {
      const list = id === null ? undefined : map.get(id);
      return list ? summarize(list).median : undefined;
    };
    for (const tool of options.tools) {
      const list = samples.get(tool.id);
      if (!list) continue;
      const s = summarize(list);
      const floorMedian = median(samples, tool.floor);
      rows.push({
        suite: "apply",
        tool: tool.tool,
        id: tool.id,
        mode: tool.mode,
        target: tool.target,
        transactions: tool.transactions,
        n,
        reps: list.length,
        median_ms: round(s.median, 1),
        min_ms: round(s.min, 1),
        max_ms: round(s.max, 1),
        floor: tool.floor,
        overhead_per_migration_ms:
          floorMedian === undefined ? null : round((s.median - floorMedian) / n, 3),
        ratio_to_floor: floorMedian === undefined ? null : round(s.median / floorMedian, 3),
      });
    }
    for (const tool of options.tools) {
      const list = noops.get(tool.id);
      if (!list) continue;
      const s = summarize(list);
      const floorId = tool.id.startsWith("floor") ? null : noopFloor(tool);
      const floorMedian = median(noops, floorId);
      rows.push({
        suite: "noop",
        tool: tool.tool,
        id: tool.id,
        mode: tool.mode,
        target: tool.target,
        transactions: tool.transactions,
        n,
        reps: list.length,
        median_ms: round(s.median, 1),
        min_ms: round(s.min, 1),
        max_ms: round(s.max, 1),
        floor: floorMedian === undefined ? null : floorId,
        overhead_per_migration_ms: null,
        ratio_to_floor: floorMedian === undefined ? null : round(s.median / floorMedian, 3),
      });
    }
  }
  return rows;
}
