/**
 * `npm run bench [-- --quick] [-- --suites apply,round-trips,list,m008] [-- --reps N]`
 *
 * Every comparison in one process run, interleaved, several repetitions, a fresh database per
 * run; prints the tables and writes `results/latest.json`, `latest.svg` and `latest.md`.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { checkTargets, type Row, renderTables, writeResults } from "./report.ts";
import { closeServer, openServer } from "./server.ts";
import { runApplySuite } from "./suites/apply.ts";
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
const reps = values.reps === undefined ? 3 : Number(values.reps);
const toolFilter = values.tools?.split(",").map((s) => s.trim());
const tools = toolFilter
  ? allTools.filter((t) => t.floor === null || toolFilter.includes(t.id))
  : allTools;

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
        sizes: quick ? [50] : [100, 1000],
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
        reps,
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
