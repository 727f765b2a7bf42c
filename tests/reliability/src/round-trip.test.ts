import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import {
  createMigrationEngine,
  directorySource,
  type Executor,
  type MigrationEngine,
  normaliseLineEndings,
} from "@studio/migrations-core";
import {
  createPGliteExecutor,
  createPgMetaExecutor,
  createPostgresExecutor,
} from "@studio/migrations-postgres";
import { isValidActor } from "@studio/migrations-trpc";
import {
  createTestDatabase,
  type PgMetaServer,
  query,
  startPgMeta,
  type TestDatabase,
} from "@studio/test-postgres";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FUZZ_RUNS } from "./support/config.ts";
import { resetDatabase } from "./support/database.ts";
import { removeAllDirs, writeMigrationsDir } from "./support/migrations.ts";
import { Figures } from "./support/summary.ts";

/**
 * Actors and Postgres error messages full of quotes, `$$`, dollar tags, backslashes, comment
 * markers, placeholders and non-ASCII text round-trip exactly — into `schema_migrations` and
 * `schema_migration_events`, and back out through `list` and `history` — through each executor:
 * direct PostgreSQL, PGlite, and postgres-meta (whose SQL is sent as text, so every value it
 * carries must be quoted right). One wrong escape shows as a changed value or a SQL error.
 */

const figures = new Figures("actor and error-message round trips");
const RUNS = Math.max(10, Math.floor(FUZZ_RUNS / 5));

/** The pieces SQL quoting gets wrong. */
const PIECES = [
  "'",
  "''",
  '"',
  "$$",
  "$1",
  "$rt$",
  "$_$",
  "\\",
  "\\'",
  "\\\\",
  "E'",
  ";",
  "--",
  "/*",
  "*/",
  "%s",
  "%I",
  "%L",
  "?",
  ":name",
  "O'Brien",
  "$$; drop table platform.schema_migrations; $$",
  "'); drop table platform.schema_migration_events; --",
  "é",
  "😀",
  "\u200b",
  "\u2028",
  "ß",
  " ",
  "x",
];

const hostileText = (extra: string[]) =>
  fc
    .array(fc.oneof(fc.constantFrom(...PIECES, ...extra), fc.string({ maxLength: 4 })), {
      minLength: 1,
      maxLength: 12,
    })
    .map((parts) => parts.join(""));

/** Valid actors (one printable line of at most 200 characters) made of those pieces. */
const actor = hostileText([]).filter(isValidActor);
/**
 * Error messages may also hold line breaks and tabs, not NUL (Postgres text cannot). They are
 * written into a migration file, whose line endings the engine normalises to \n (SPEC §2), so
 * they are generated normalised: that is the text that runs.
 */
const message = hostileText(["\n", "\t", "\r\n"])
  .map((m) => normaliseLineEndings(m.replaceAll("\u0000", "")))
  .filter((m) => m.trim() !== "");

/** A PL/pgSQL raise whose message, detail and hint are exactly the given texts. */
function raising(msg: string, detail: string, hint: string): string {
  const literal = (s: string) => `'${s.replaceAll("'", "''")}'`;
  let tag = "rt";
  while (`${msg}${detail}${hint}`.includes(`$${tag}$`)) tag += "x";
  return `-- migrate:up
do $${tag}$ begin
  raise exception using message = ${literal(msg)}, detail = ${literal(detail)}, hint = ${literal(hint)}, errcode = 'P0001';
end $${tag}$;
-- migrate:down
select 1;
`;
}

interface Target {
  name: string;
  executor: () => Executor;
  read<R extends Record<string, unknown>>(sql: string): Promise<R[]>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

let database: TestDatabase;
let metaDatabase: TestDatabase;
let meta: PgMetaServer;
let pglite: PGlite;

beforeAll(async () => {
  [database, metaDatabase] = await Promise.all([
    createTestDatabase("round_trip_pg"),
    createTestDatabase("round_trip_meta"),
  ]);
  meta = await startPgMeta(metaDatabase.url);
  pglite = await PGlite.create();
});
afterAll(async () => {
  figures.print();
  await meta?.stop();
  await Promise.all([database?.drop(), metaDatabase?.drop()]);
  await pglite?.close();
  removeAllDirs();
});

const RESET_SQL = `drop table if exists public.rt_ok;
do $$ begin
  if to_regclass('platform.schema_migrations') is not null then
    set local session_replication_role = replica;
    truncate platform.schema_migrations, platform.schema_migration_events restart identity;
  end if;
end $$;`;

function targets(): Target[] {
  const overPg = (name: string, url: string, executor: () => Executor): Target => ({
    name,
    executor,
    read: (sql) => query(url, sql),
    reset: async () => {
      await resetDatabase(url);
      await query(url, "drop table if exists public.rt_ok");
    },
    close: async () => {},
  });
  return [
    overPg("pg", database.url, () => createPostgresExecutor({ connection: database.url })),
    overPg("pg-meta", metaDatabase.url, () => createPgMetaExecutor({ url: meta.url })),
    {
      name: "pglite",
      executor: () => createPGliteExecutor({ pglite }),
      read: async <R extends Record<string, unknown>>(sql: string) =>
        (await pglite.query<R>(sql)).rows,
      reset: async () => {
        await pglite.exec(`begin; ${RESET_SQL} commit;`);
      },
      close: async () => {},
    },
  ];
}

interface RowOut extends Record<string, unknown> {
  migration_name: string;
  status: string;
  applied_by: string | null;
  error_message: string | null;
  rolled_back_by: string | null;
}

interface EventOut extends Record<string, unknown> {
  migration_name: string;
  action: string;
  outcome: string;
  actor: string | null;
  error_message: string | null;
}

describe("actors and error messages round-trip exactly through every executor", () => {
  for (const name of ["pg", "pglite", "pg-meta"]) {
    it(`${name}: apply, fail, resolve, rollback with hostile actors and messages (${RUNS} runs)`, async () => {
      const target = targets().find((t) => t.name === name) as Target;
      const dir = writeMigrationsDir(
        [
          {
            name: "001_ok",
            text: "-- migrate:up\ncreate table public.rt_ok (id int);\n-- migrate:down\ndrop table public.rt_ok;\n",
          },
        ],
        `round-trip-${name}`,
      );
      const executor = target.executor();
      const engine: MigrationEngine = createMigrationEngine({
        executor,
        source: directorySource(dir),
      });
      try {
        await fc.assert(
          fc.asyncProperty(
            actor,
            actor,
            message,
            message,
            message,
            async (who, resolver, msg, detail, hint) => {
              await target.reset();
              writeFileSync(join(dir, "002_fail.sql"), raising(msg, detail, hint));

              // Apply: 001 succeeds, 002 fails with exactly our message, detail and hint.
              const report = await engine.apply({ actor: who });
              expect(report.results.map((r) => [r.migrationName, r.status])).toEqual([
                ["001_ok", "applied"],
                ["002_fail", "failed"],
              ]);
              expect(report.failed?.error).toMatchObject({
                message: msg,
                detail,
                hint,
                code: "P0001",
              });

              // Resolve the failure by hand as another actor, then roll 001 back.
              await engine.resolve({
                migrationName: "002_fail",
                as: "rolled_back",
                actor: resolver,
              });
              const rollback = await engine.rollback({ migrationName: "001_ok", actor: who });
              expect(rollback.status).toBe("rolled_back");

              // What the database holds.
              const rows = await target.read<RowOut>(
                `select migration_name, status, applied_by, error_message, rolled_back_by
                 from platform.schema_migrations order by migration_name`,
              );
              expect(rows).toMatchObject([
                {
                  migration_name: "001_ok",
                  status: "rolled_back",
                  applied_by: who,
                  rolled_back_by: who,
                },
                { migration_name: "002_fail", status: "rolled_back", rolled_back_by: resolver },
              ]);
              const events = await target.read<EventOut>(
                `select migration_name, action, outcome, actor, error_message
                 from platform.schema_migration_events order by id`,
              );
              expect(events).toEqual([
                {
                  migration_name: "001_ok",
                  action: "apply",
                  outcome: "succeeded",
                  actor: who,
                  error_message: null,
                },
                {
                  migration_name: "002_fail",
                  action: "apply",
                  outcome: "failed",
                  actor: who,
                  error_message: msg,
                },
                {
                  migration_name: "002_fail",
                  action: "resolve",
                  outcome: "succeeded",
                  actor: resolver,
                  error_message: null,
                },
                {
                  migration_name: "001_ok",
                  action: "rollback",
                  outcome: "succeeded",
                  actor: who,
                  error_message: null,
                },
              ]);

              // And back out through the executor's own reads.
              const history = await engine.history({ limit: 10 });
              expect(history.events.map((e) => [e.actor, e.errorMessage]).reverse()).toEqual(
                events.map((e) => [e.actor, e.error_message]),
              );
              const state = await executor.readState();
              expect(state.find((r) => r.migrationName === "001_ok")?.appliedBy).toBe(who);

              figures.add(`${name} round trips`);
              figures.add("values checked", 4 + events.length * 2);
            },
          ),
          { numRuns: RUNS },
        );
      } finally {
        await executor.close();
      }
    });
  }

  it("a failed migration's message with every hostile piece at once is stored as is", async () => {
    const msg = PIECES.join(" | ");
    for (const target of targets()) {
      await target.reset();
      const dir = writeMigrationsDir(
        [{ name: "001_all", text: raising(msg, msg, msg) }],
        `round-trip-all-${target.name}`,
      );
      const executor = target.executor();
      try {
        const engine = createMigrationEngine({ executor, source: directorySource(dir) });
        const who = PIECES.filter((p) => isValidActor(p))
          .join("")
          .slice(0, 200);
        await engine.apply({ actor: who });
        const list = await engine.list();
        expect(list.migrations[0]?.lastError, target.name).toBe(msg);
        const rows = await target.read<RowOut>(
          "select applied_by, error_message from platform.schema_migrations",
        );
        expect(rows, target.name).toMatchObject([{ applied_by: who, error_message: msg }]);
        figures.add("values checked", 3);
      } finally {
        await executor.close();
      }
    }
    figures.add("values changed or lost", 0);
  });
});
