import { join } from "node:path";
import { createMigrationEngine, directorySource } from "@studio/migrations-core";
import { createPostgresExecutor } from "@studio/migrations-postgres";
import { createMigrationsClient } from "@studio/migrations-trpc/client";
import { startMigrationsHttpServer } from "@studio/migrations-trpc/testing";
import { generateCorpus, writeDbmateFormat } from "../generate.ts";
import type { Row } from "../report.ts";
import { freshDatabase } from "../server.ts";
import { growthExponent, round, summarize, timed } from "../stats.ts";

export interface ListSuiteOptions {
  readonly sizes: readonly number[];
  readonly reps: number;
  readonly tmp: string;
  readonly log: (line: string) => void;
}

const SECRET = "bench-secret-bench-secret-bench-secret";

/**
 * `list` with N migrations on disk and N in history (recorded by `baseline`, which runs no SQL):
 * server-side (the engine's `list` in this process, which reads the directory afresh each time,
 * as Studio does) and through HTTP (the tRPC router on Node's HTTP server, the typed client).
 */
export async function runListSuite(options: ListSuiteOptions): Promise<Row[]> {
  const rows: Row[] = [];
  const previous = new Map<string, { n: number; median: number }>();
  for (const n of options.sizes) {
    const corpus = generateCorpus(n);
    const dir = writeDbmateFormat(join(options.tmp, `list-${n}`), corpus);
    const last = corpus.migrations.at(-1);
    if (!last) throw new Error("empty corpus");
    const db = await freshDatabase("list");
    const engine = createMigrationEngine({
      executor: createPostgresExecutor({ connection: db.url }),
      source: directorySource(dir),
    });
    const http = await startMigrationsHttpServer({ engine, secret: SECRET });
    try {
      const baseline = await engine.baseline({
        upTo: `${last.number}_${last.slug}`,
        actor: "bench",
      });
      if (baseline.results.length !== n)
        throw new Error(`baseline recorded ${baseline.results.length} of ${n}`);
      const client = createMigrationsClient({ url: http.url, secret: SECRET });
      const check = (applied: number, pending: number) => {
        if (applied !== n || pending !== 0) {
          throw new Error(`list at n=${n}: ${applied} applied, ${pending} pending`);
        }
      };
      const samples = { server: [] as number[], http: [] as number[] };
      // One warm-up each, then interleaved repetitions.
      await engine.list();
      await client.list.query();
      for (let rep = 0; rep < options.reps; rep++) {
        samples.server.push(
          await timed(async () => {
            const report = await engine.list();
            check(report.applied.length, report.pending.length);
          }),
        );
        samples.http.push(
          await timed(async () => {
            const report = await client.list.query();
            check(report.applied.length, report.pending.length);
          }),
        );
      }
      for (const [through, list] of Object.entries(samples)) {
        const s = summarize(list);
        const key = through;
        const before = previous.get(key);
        const growth = before ? growthExponent(before.n, before.median, n, s.median) : null;
        previous.set(key, { n, median: s.median });
        options.log(
          `[list n=${n}] ${through}: median ${s.median.toFixed(1)} ms${growth === null ? "" : `, growth n^${growth.toFixed(2)}`}`,
        );
        rows.push({
          suite: "list",
          tool: "engine (pg)",
          id: `engine-pg-list-${through}`,
          mode: through === "http" ? "http" : "in-process",
          target: "pg",
          n,
          reps: list.length,
          median_ms: round(s.median, 1),
          min_ms: round(s.min, 1),
          max_ms: round(s.max, 1),
          growth_exponent: growth === null ? null : round(growth, 2),
        });
      }
    } finally {
      await http.close();
      await engine.executor.close();
      await db.drop();
    }
  }
  return rows;
}
