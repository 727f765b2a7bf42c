/**
 * `npm run bench [-- --quick] [-- --suites apply,round-trips,list,m008] [-- --reps N] [-- --sizes N,…]`
 *
 * Every comparison in one process run, several repetitions, each tool timed between two runs of
 * its floor (paired ratios), a fresh database per run; prints the tables and writes
 * `results/latest.json`, `latest.svg` and `latest.md`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { checkTargets, type Row, renderTables, writeResults } from "./report.ts";
import { closeServer, openServer } from "./server.ts";
import { noopFloorId, runApplySuite } from "./suites/apply.ts";
import { runListSuite } from "./suites/list.ts";
import { runM008Suite } from "./suites/m008.ts";
import { runRoundTripSuite } from "./suites/round-trips.ts";
import { allTools } from "./tools/all.ts";

const SUITES = ["apply", "round-trips", "list", "m008"] as const;
type Suite = (typeof SUITES)[number];

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    suites: { type: "string" },
    reps: { type: "string" },
    tools: { type: "string" },
    sizes: { type: "string" },
  },
});
const quick = values.quick === true;
const suites = new Set<Suite>(
  values.suites === undefined
    ? SUITES
    : values.suites.split(",").map((s) => {
        const suite = SUITES.find((known) => known === s.trim());
        if (!suite) throw new Error(`unknown suite ${s}; known: ${SUITES.join(", ")}`);
        return suite;
      }),
);
// Paired ratios want enough repetitions for a median and quartiles to mean something.
const reps = values.reps === undefined ? (quick ? 5 : 7) : Number(values.reps);
if (!Number.isInteger(reps) || reps < 1) {
  throw new Error(`--reps must be a whole number of at least 1, got ${values.reps}`);
}
/** 008 at up to 10^6 users is not a comparison with a floor: a few runs say what it costs. */
const M008_REPS = 3;
/** `--sizes`: the apply suite's N, instead of the targets' (a look at one size, e.g. 300). */
const applySizes = values.sizes?.split(",").map((s) => {
  const n = Number(s.trim());
  if (!Number.isInteger(n) || n < 1) throw new Error(`--sizes takes whole numbers, got ${s}`);
  return n;
});
const toolFilter = values.tools?.split(",").map((s) => s.trim());
const tools = toolFilter === undefined ? allTools : withTheirFloors(toolFilter);

/** The tools named, and the floors they are paired with (for their applies and their no-ops). */
function withTheirFloors(ids: readonly string[]) {
  const unknown = ids.filter((id) => !allTools.some((t) => t.id === id));
  if (unknown.length > 0) {
    throw new Error(
      `unknown tool ${unknown.join(", ")}; known: ${allTools.map((t) => t.id).join(", ")}`,
    );
  }
  const named = allTools.filter((t) => ids.includes(t.id));
  const floors = new Set(
    named.flatMap((t) => [t.floor, t.noop && t.floor !== null ? noopFloorId(t) : null]),
  );
  return allTools.filter((t) => ids.includes(t.id) || floors.has(t.id));
}

const resultsDir = fileURLToPath(new URL("../results/", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "studio-bench-"));
const log = (line: string) => process.stderr.write(`${line}\n`);
const started = performance.now();

const server = await openServer();
log(`[bench] ${server.describe()}; ${quick ? "--quick" : "full"} run, ${reps} repetitions`);
const rows: Row[] = [];
try {
  if (suites.has("apply")) {
    rows.push(
      ...(await runApplySuite({
        // The sizes the targets name: 50 (fixed costs weigh) and 1,000.
        sizes: applySizes ?? (quick ? [50] : [50, 1000]),
        reps,
        noopReps: 3,
        tools,
        tmp,
        log,
      })),
    );
  }
  if (suites.has("round-trips")) {
    rows.push(...(await runRoundTripSuite({ n: quick ? 50 : 100, tmp, log })));
  }
  if (suites.has("list")) {
    rows.push(
      ...(await runListSuite({
        sizes: quick ? [100, 1000] : [100, 1000, 10000],
        reps: quick ? 5 : 7,
        tmp,
        log,
      })),
    );
  }
  if (suites.has("m008")) {
    rows.push(
      ...(await runM008Suite({
        sizes: quick ? [10_000] : [10_000, 100_000, 1_000_000],
        reps: M008_REPS,
        server,
        tmp,
        log,
      })),
    );
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
  await closeServer();
}

const written = writeResults(resultsDir, rows);
process.stdout.write(`${renderTables(rows)}\n${checkTargets(rows)}\n`);
log(
  `[bench] done in ${((performance.now() - started) / 1000).toFixed(0)} s; wrote ${written.json} and ${written.svg}`,
);
