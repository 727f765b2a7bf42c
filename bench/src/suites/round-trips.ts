import { join } from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import { createPGliteExecutor, createPostgresExecutor } from "@studio/migrations-postgres";
import pg from "pg";
import { applyGraphile } from "../peers/graphile-migrate.ts";
import { applyKysely } from "../peers/kysely.ts";
import { applyNodePgMigrate } from "../peers/node-pg-migrate.ts";
import { applyPostgresMigrations } from "../peers/postgres-migrations.ts";
import type { Row } from "../report.ts";
import { timed } from "../stats.ts";
import { applyWithEngine, countingFetch, pgMetaExecutor } from "../tools/engine.ts";
import { applyFloor, applyPgliteFloor } from "../tools/floor.ts";
import type { Prepared, RunTarget, Tool } from "../tools/tool.ts";
import { openTarget, prepare, verifyApplied } from "./apply.ts";

type QueryFn = (this: unknown, ...args: unknown[]) => unknown;

/** Counts every `pg` query (one round trip each: `pg` does not pipeline) while `work` runs. */
async function countPgQueries(work: () => Promise<void>): Promise<number> {
  const proto = pg.Client.prototype as unknown as { query: QueryFn };
  const original = proto.query;
  let count = 0;
  proto.query = function counted(this: unknown, ...args: unknown[]) {
    count++;
    return original.apply(this, args);
  };
  try {
    await work();
  } finally {
    proto.query = original;
  }
  return count;
}

type ProtocolFn = (this: unknown, ...args: unknown[]) => unknown;
const PGLITE_ENTRY_POINTS = [
  "execProtocol",
  "execProtocolStream",
  "execProtocolRaw",
  "execProtocolRawSync",
] as const;

/**
 * Counts the protocol exchanges with PGlite's backend (its "round trips") while `work` runs: one
 * message handed to the backend is one exchange. The entry points call one another
 * (`execProtocolStream` → `execProtocolRaw` → `execProtocolRawSync`, synchronously), so only the
 * outermost call of a chain counts.
 */
async function countPgliteExchanges(pglite: PGlite, work: () => Promise<void>): Promise<number> {
  const holder = pglite as unknown as Record<string, ProtocolFn>;
  const originals = new Map<string, ProtocolFn>();
  let count = 0;
  let depth = 0;
  for (const name of PGLITE_ENTRY_POINTS) {
    const original = holder[name];
    if (typeof original !== "function") continue;
    originals.set(name, original);
    holder[name] = function counted(this: unknown, ...args: unknown[]) {
      if (depth === 0) count++;
      depth++;
      try {
        return original.apply(this, args);
      } finally {
        depth--;
      }
    };
  }
  try {
    await work();
  } finally {
    for (const [name, original] of originals) holder[name] = original;
  }
  return count;
}

/** The floors: no bookkeeping, so no no-op run. */
const FLOORS = new Set(["floor", "pglite-floor"]);

interface Counted {
  readonly tool: Tool;
  /** Runs once and returns the round trips it made. */
  count(target: RunTarget, prepared: Prepared): Promise<number>;
}

function pgTool(
  id: string,
  tool: string,
  run: (url: string, p: Prepared) => Promise<void>,
): Counted {
  return {
    tool: {
      id,
      tool,
      mode: "in-process",
      target: "pg",
      transactions: "per migration",
      floor: null,
      noop: true,
      run: (t, p) => run(t.url, p),
    },
    count: (t, p) => countPgQueries(() => run(t.url, p)),
  };
}

const counted: Counted[] = [
  pgTool("floor", "floor", (url, p) => applyFloor(url, p.dirs.upOnly, false)),
  pgTool("engine-pg", "engine (pg)", (url, p) =>
    applyWithEngine(createPostgresExecutor({ connection: url }), p.dirs.dbmate),
  ),
  (() => {
    let fetcher = countingFetch();
    return {
      tool: {
        id: "engine-pg-meta",
        tool: "engine (postgres-meta): HTTP requests",
        mode: "in-process",
        target: "pg-meta",
        transactions: "per migration",
        floor: null,
        noop: true,
        run: (t, p) => applyWithEngine(pgMetaExecutor(t), p.dirs.dbmate),
      },
      count: async (t, p) => {
        fetcher = countingFetch();
        await applyWithEngine(pgMetaExecutor(t, fetcher.fetch), p.dirs.dbmate);
        return fetcher.count();
      },
    } satisfies Counted;
  })(),
  {
    tool: {
      id: "engine-pglite",
      tool: "engine (PGlite): protocol exchanges",
      mode: "in-process",
      target: "pglite",
      transactions: "per migration",
      floor: null,
      noop: true,
      run: () => Promise.resolve(),
    },
    count: (t, p) => {
      const pglite = t.pglite;
      if (!pglite) throw new Error("no PGlite");
      return countPgliteExchanges(pglite, () =>
        applyWithEngine(createPGliteExecutor({ pglite }), p.dirs.dbmate),
      );
    },
  },
  {
    tool: {
      id: "pglite-floor",
      tool: "floor (PGlite): protocol exchanges",
      mode: "in-process",
      target: "pglite",
      transactions: "per migration",
      floor: null,
      noop: false,
      run: () => Promise.resolve(),
    },
    count: (t, p) => {
      const pglite = t.pglite;
      if (!pglite) throw new Error("no PGlite");
      return countPgliteExchanges(pglite, () => applyPgliteFloor(pglite, p.dirs.upOnly));
    },
  },
  pgTool("kysely-default", "Kysely Migrator (default)", (url, p) =>
    applyKysely(url, p.kyselyDir(), false),
  ),
  pgTool("kysely-per-migration", "Kysely Migrator (disableTransactions)", (url, p) =>
    applyKysely(url, p.kyselyDir(), true),
  ),
  pgTool("node-pg-migrate-default", "node-pg-migrate (default)", (url, p) =>
    applyNodePgMigrate(url, p.dirs.nodePgMigrate, false),
  ),
  pgTool("node-pg-migrate-per-migration", "node-pg-migrate (--no-single-transaction)", (url, p) =>
    applyNodePgMigrate(url, p.dirs.nodePgMigrate, true),
  ),
  pgTool("graphile-migrate", "graphile-migrate", (url, p) => applyGraphile(url, p.dirs.graphile)),
  pgTool("postgres-migrations", "postgres-migrations", (url, p) =>
    applyPostgresMigrations(url, p.dirs.upOnly),
  ),
];

export interface RoundTripOptions {
  readonly n: number;
  readonly tmp: string;
  readonly log: (line: string) => void;
}

/** Queries (or requests) per applied migration, and for a whole no-op run, per executor. */
export async function runRoundTripSuite(options: RoundTripOptions): Promise<Row[]> {
  const { n } = options;
  const small = prepare(n, join(options.tmp, `round-trips-${n}`));
  const large = prepare(2 * n, join(options.tmp, `round-trips-${2 * n}`));
  const rows: Row[] = [];
  /** Applies `prepared` from empty; its round trips, its time, and a no-op run's round trips. */
  const measure = async (c: Counted, prepared: Prepared) => {
    const { target, close } = await openTarget(c.tool);
    try {
      let trips = 0;
      const ms = await timed(async () => {
        trips = await c.count(target, prepared);
      });
      await verifyApplied(c.tool, target, prepared.corpus);
      // The floors have no no-op run: they would send everything again.
      const noop = FLOORS.has(c.tool.id) ? 0 : await c.count(target, prepared);
      return { trips, ms, noop };
    } finally {
      await close();
    }
  };
  for (const c of counted) {
    const a = await measure(c, small);
    const b = await measure(c, large);
    // What one more migration costs, from two sizes: the fixed round trips of a run (reading
    // the state, the run lock, creating the tracking tables) cancel out.
    const perMigration = (b.trips - a.trips) / n;
    const fixed = a.trips - perMigration * n;
    options.log(
      `[round-trips] ${c.tool.id}: ${a.trips} for ${n}, ${b.trips} for ${2 * n}: ${perMigration.toFixed(2)} per migration + ${fixed.toFixed(0)} per run; no-op run ${a.noop}`,
    );
    rows.push({
      suite: "round-trips",
      tool: c.tool.tool,
      id: c.tool.id,
      mode: "in-process",
      target: c.tool.target,
      n,
      reps: 1,
      median_ms: Math.round(a.ms),
      min_ms: Math.round(a.ms),
      max_ms: Math.round(a.ms),
      round_trips_per_migration: Math.round(perMigration * 100) / 100,
      fixed_round_trips: Math.round(fixed),
      noop_round_trips: a.noop,
    });
  }
  return rows;
}
