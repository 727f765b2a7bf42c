import { copyFileSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createMigrationEngine, directorySource } from "@studio/migrations-core";
import { createPostgresExecutor } from "@studio/migrations-postgres";
import type { TestServer } from "@studio/test-postgres";
import pg from "pg";
import type { Row } from "../report.ts";
import { cloneDatabase, freshDatabase, withClient } from "../server.ts";
import { round, summarize, timed } from "../stats.ts";
import { applyWithEngine } from "../tools/engine.ts";

const MIGRATIONS = fileURLToPath(new URL("../../../migrations/", import.meta.url));
const M008 = "008_add_active_org_tracking";

export interface M008Options {
  readonly sizes: readonly number[];
  readonly reps: number;
  readonly server: TestServer;
  readonly tmp: string;
  readonly log: (line: string) => void;
}

/** A copy of the platform migrations, `000` up to and including `last`. */
function migrationsUpTo(dir: string, last: string): string {
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync(MIGRATIONS)) {
    if (name.endsWith(".sql") && name.slice(0, -4) <= last)
      copyFileSync(join(MIGRATIONS, name), join(dir, name));
  }
  return dir;
}

/**
 * Users, organizations (one per 20 users) and memberships: 9 users in 10 belong to one
 * organization, a third of them to a second one, with spread-out dates.
 */
async function populate(url: string, users: number): Promise<void> {
  const orgs = Math.max(10, Math.floor(users / 20));
  await withClient(url, async (client) => {
    await client.query(`
      insert into platform.organizations (slug, name)
      select 'org-' || g, 'Organization ' || g from generate_series(1, ${orgs}) g;
      insert into platform.users (email, display_name, created_at)
      select 'user' || g || '@example.com', 'User ' || g, now() - g * interval '1 second'
      from generate_series(1, ${users}) g;
      with u as (select id, row_number() over (order by email) as rn from platform.users),
           o as (select id, row_number() over (order by slug) - 1 as k from platform.organizations)
      insert into platform.organization_members (organization_id, user_id, role, created_at)
      select o.id, u.id, 'member', now() - (u.rn % 997) * interval '1 minute'
      from u join o on o.k = u.rn % ${orgs}
      where u.rn % 10 <> 0;
      with u as (select id, row_number() over (order by email) as rn from platform.users),
           o as (select id, row_number() over (order by slug) - 1 as k from platform.organizations)
      insert into platform.organization_members (organization_id, user_id, role, created_at)
      select o.id, u.id, 'developer', now() - (u.rn % 991) * interval '1 minute'
      from u join o on o.k = (u.rn + 7) % ${orgs}
      where u.rn % 3 = 0 and u.rn % 10 <> 0;
    `);
    await client.query("vacuum analyze");
  });
}

interface WriterResult {
  readonly worstMs: number;
  readonly statements: number;
}

interface Writer {
  /** Stops after the statement in flight and reports. */
  stop(): Promise<WriterResult>;
}

/**
 * A writer to `platform.users`, connected and writing before this resolves: updates of existing
 * users and inserts of new ones, one statement at a time, until stopped. Its worst statement
 * latency is how long a migration running meanwhile blocked writers.
 */
async function startWriter(url: string): Promise<Writer> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => {});
  await client.connect();
  const ids = (
    await client.query<{ id: string }>("select id from platform.users limit 2000")
  ).rows.map((r) => r.id);
  if (ids.length === 0) throw new Error("no users to write to");
  let stopping = false;
  let worst = 0;
  let statements = 0;
  const loop = (async () => {
    while (!stopping) {
      const i = statements++;
      const started = performance.now();
      if (i % 4 === 3) {
        await client.query("insert into platform.users (email) values ($1)", [
          `writer-${process.pid}-${Date.now()}-${i}@example.com`,
        ]);
      } else {
        await client.query("update platform.users set last_sign_in_at = now() where id = $1", [
          ids[i % ids.length],
        ]);
      }
      worst = Math.max(worst, performance.now() - started);
      // A steady stream of writes, not a saturating one.
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  })();
  // Let it write a few statements before the migration starts.
  await new Promise((resolve) => setTimeout(resolve, 50));
  return {
    stop: async () => {
      stopping = true;
      try {
        await loop;
      } finally {
        await client.end().catch(() => {});
      }
      return { worstMs: worst, statements };
    },
  };
}

/** Migration 008 on a populated platform schema, with a concurrent writer measuring its stalls. */
export async function runM008Suite(options: M008Options): Promise<Row[]> {
  const upTo007 = migrationsUpTo(join(options.tmp, "m008-upto-007"), "007_z");
  const all = migrationsUpTo(join(options.tmp, "m008-all"), "008_z");
  const rows: Row[] = [];
  for (const users of options.sizes) {
    const template = await freshDatabase("m008_tpl");
    try {
      const setup = await timed(async () => {
        await applyWithEngine(createPostgresExecutor({ connection: template.url }), upTo007);
        await populate(template.url, users);
      });
      options.log(`[m008 users=${users}] template ready in ${(setup / 1000).toFixed(1)} s`);
      const totals: number[] = [];
      const worst: number[] = [];
      let statements = 0;
      for (let rep = 0; rep < options.reps; rep++) {
        const db = await cloneDatabase(options.server, template.name, "m008");
        try {
          const executor = createPostgresExecutor({ connection: db.url });
          const engine = createMigrationEngine({ executor, source: directorySource(all) });
          const writer = await startWriter(db.url);
          let ms = 0;
          let writes: WriterResult | undefined;
          try {
            ms = await timed(async () => {
              const report = await engine.apply({ migrationName: M008, actor: "bench" });
              if (report.failed || report.results[0]?.status !== "applied") {
                throw new Error(
                  `008 did not apply: ${JSON.stringify(report.failed ?? report.results)}`,
                );
              }
            });
          } finally {
            writes = await writer.stop();
          }
          await executor.close();
          const backfilled = await withClient(db.url, async (client) => {
            const r = await client.query<{ missing: number }>(
              `select count(*)::int as missing from platform.users u
               where u.active_org_id is null
                 and exists (select 1 from platform.organization_members m where m.user_id = u.id)
                 and u.email not like 'writer-%'`,
            );
            return r.rows[0]?.missing ?? -1;
          });
          if (backfilled !== 0)
            throw new Error(`008 left ${backfilled} members without active_org_id`);
          totals.push(ms);
          worst.push(writes.worstMs);
          statements += writes.statements;
          options.log(
            `[m008 users=${users} rep ${rep + 1}/${options.reps}] ${ms.toFixed(0)} ms; writer worst ${writes.worstMs.toFixed(1)} ms over ${writes.statements} statements`,
          );
        } finally {
          await db.drop();
        }
      }
      const t = summarize(totals);
      const w = summarize(worst);
      rows.push({
        suite: "m008",
        tool: "engine (pg)",
        id: "engine-pg-m008",
        mode: "in-process",
        target: "pg",
        n: users,
        reps: totals.length,
        median_ms: round(t.median, 1),
        min_ms: round(t.min, 1),
        max_ms: round(t.max, 1),
        writer_worst_median_ms: round(w.median, 1),
        writer_worst_min_ms: round(w.min, 1),
        writer_worst_max_ms: round(w.max, 1),
        writer_statements: statements,
      });
    } finally {
      await template.drop();
    }
  }
  return rows;
}
