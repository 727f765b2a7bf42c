import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { PGlite } from "@electric-sql/pglite";
import {
  createMigrationEngine,
  directorySource,
  type Executor,
  ForeignHistoryNotFoundError,
  StateConflictError,
} from "@studio/migrations-core";
import { createTestDatabase, startPgMeta, type TestDatabase } from "@studio/test-postgres";
import pg from "pg";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { createPGliteExecutor, createPgMetaExecutor, createPostgresExecutor } from "./index.ts";

// `adopt` (SPEC §4) on real databases: each executor reads another tool's history table and
// records adopted migrations with their note; and the whole flow on a database migrated by the
// real dbmate, and on a Supabase-CLI-shaped history.

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const DBMATE = join(REPO_ROOT, "node_modules", ".bin", "dbmate");

const dirs: string[] = [];
function tempDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "adopt-test-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Runs the real dbmate from a directory without a `.env`, with nothing of our environment. */
async function dbmate(url: string, migrationsDir: string, ...extra: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [DBMATE, "--no-dump-schema", "-d", migrationsDir, "--url", url, ...extra, "up"],
    { cwd: tempDir({}), env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" } },
  );
  return stdout;
}

function withSslDisabled(url: string): string {
  const u = new URL(url);
  u.searchParams.set("sslmode", "disable");
  return u.toString();
}

async function sql<R extends Record<string, unknown>>(url: string, text: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text)).rows;
  } finally {
    await client.end();
  }
}

const DBMATE_FILES: Record<string, string> = {
  "20240101000001_create_widgets.sql":
    "-- migrate:up\ncreate table widgets (id int primary key);\n\n-- migrate:down\ndrop table widgets;\n",
  "20240101000002_add-widget-name.sql":
    "-- migrate:up\nalter table widgets add column name text;\n\n-- migrate:down\nalter table widgets drop column name;\n",
  "20240101000003_create_gadgets.sql":
    "-- migrate:up\ncreate table gadgets (id int primary key);\n\n-- migrate:down\ndrop table gadgets;\n",
};

describe("adopt from a database the real dbmate migrated", () => {
  let database: TestDatabase;
  let executor: Executor;
  beforeEach(async () => {
    database = await createTestDatabase("adopt_dbmate");
  });
  afterEach(async () => {
    await executor?.close();
    await database.drop();
  });

  it("records what dbmate applied, runs none of it, and applies only what dbmate did not", async () => {
    const dir = tempDir(DBMATE_FILES);
    await dbmate(withSslDisabled(database.url), dir);
    expect(
      (
        await sql<{ version: string }>(
          database.url,
          "select version from public.schema_migrations order by 1",
        )
      ).map((r) => r.version),
    ).toEqual(["20240101000001", "20240101000002", "20240101000003"]);
    // A migration written after the move, and one dbmate recorded whose file is gone here.
    writeFileSync(
      join(dir, "20240201000000_create_sprockets.sql"),
      "-- migrate:up\ncreate table sprockets (id int);\n-- migrate:down\ndrop table sprockets;\n",
    );
    await sql(
      database.url,
      "insert into public.schema_migrations (version) values ('20231231000000')",
    );
    executor = createPostgresExecutor({ connection: database.url });
    const engine = createMigrationEngine({ executor, source: directorySource(dir) });

    const report = await engine.adopt({ from: "dbmate", actor: "mover" });

    expect(report.table).toBe("public.schema_migrations");
    expect(report.results.map((r) => [r.version, r.migrationName, r.status])).toEqual([
      ["20231231000000", null, "no_local_file"],
      ["20240101000001", "20240101000001_create_widgets", "adopted"],
      ["20240101000002", "20240101000002_add-widget-name", "adopted"],
      ["20240101000003", "20240101000003_create_gadgets", "adopted"],
    ]);
    const rows = await sql<{ migration_name: string; status: string; applied_by: string }>(
      database.url,
      "select migration_name, status, applied_by from platform.schema_migrations order by 1",
    );
    expect(rows).toEqual([
      { migration_name: "20240101000001_create_widgets", status: "applied", applied_by: "mover" },
      { migration_name: "20240101000002_add-widget-name", status: "applied", applied_by: "mover" },
      { migration_name: "20240101000003_create_gadgets", status: "applied", applied_by: "mover" },
    ]);
    const events = await sql<{ action: string; outcome: string; error_message: string }>(
      database.url,
      "select action, outcome, error_message from platform.schema_migration_events order by id",
    );
    expect(events).toEqual([
      {
        action: "baseline",
        outcome: "succeeded",
        error_message: "adopted from dbmate (public.schema_migrations, version 20240101000001)",
      },
      {
        action: "baseline",
        outcome: "succeeded",
        error_message: "adopted from dbmate (public.schema_migrations, version 20240101000002)",
      },
      {
        action: "baseline",
        outcome: "succeeded",
        error_message: "adopted from dbmate (public.schema_migrations, version 20240101000003)",
      },
    ]);
    // dbmate's own table is left as it was.
    expect(
      await sql(database.url, "select count(*)::int as n from public.schema_migrations"),
    ).toEqual([{ n: 4 }]);

    // Nothing re-ran (a second `create table widgets` would fail): only the new one applies.
    const applied = await engine.apply({ actor: "mover" });
    expect(applied.failed).toBeNull();
    expect(applied.results.map((r) => [r.migrationName, r.status])).toEqual([
      ["20240201000000_create_sprockets", "applied"],
    ]);
    expect((await engine.list()).problems).toEqual([]);
    // Adopted migrations roll back like any other: here the newest two, by their down sections.
    const rolledBack = await engine.rollbackMany({ steps: 2, actor: "mover" });
    expect(rolledBack.results.map((r) => [r.migrationName, r.status])).toEqual([
      ["20240201000000_create_sprockets", "rolled_back"],
      ["20240101000003_create_gadgets", "rolled_back"],
    ]);
    expect(await sql(database.url, "select to_regclass('public.gadgets') is null as gone")).toEqual(
      [{ gone: true }],
    );
  });

  it("reads the table dbmate was told to use with --migrations-table, named with --table", async () => {
    const dir = tempDir(DBMATE_FILES);
    await sql(database.url, "create schema legacy");
    await dbmate(withSslDisabled(database.url), dir, "--migrations-table", "legacy.dbmate_log");
    executor = createPostgresExecutor({ connection: database.url });
    const engine = createMigrationEngine({ executor, source: directorySource(dir) });

    await expect(engine.adopt({ from: "dbmate", actor: "mover" })).rejects.toThrow(
      "There is no dbmate table public.schema_migrations in this database.",
    );
    const report = await engine.adopt({
      from: "dbmate",
      table: "legacy.dbmate_log",
      actor: "mover",
    });

    expect(report.table).toBe("legacy.dbmate_log");
    expect(report.results.map((r) => r.status)).toEqual(["adopted", "adopted", "adopted"]);
    expect(
      await sql(
        database.url,
        "select count(*)::int as n from platform.schema_migrations where status = 'applied'",
      ),
    ).toEqual([{ n: 3 }]);
  });
});

describe("adopt from a Supabase CLI history", () => {
  it("reads supabase_migrations.schema_migrations and adopts the versions with a local file", async () => {
    const database = await createTestDatabase("adopt_supabase");
    const executor = createPostgresExecutor({ connection: database.url });
    try {
      // The shape the Supabase CLI creates, with what `supabase db push` records.
      await sql(
        database.url,
        `create schema supabase_migrations;
         create table supabase_migrations.schema_migrations (version text primary key, statements text[], name text);
         insert into supabase_migrations.schema_migrations values
           ('20240301101010', array['create table profiles (id uuid primary key)'], 'create_profiles'),
           ('20240302101010', array['alter table profiles add column bio text'], 'add_bio');
         create table profiles (id uuid primary key, bio text);`,
      );
      const dir = tempDir({
        "20240301101010_create_profiles.sql":
          "-- migrate:up\ncreate table profiles (id uuid primary key);\n-- migrate:down\ndrop table profiles;\n",
        "20240302101010_add_bio.sql":
          "-- migrate:up\nalter table profiles add column bio text;\n-- migrate:down\nalter table profiles drop column bio;\n",
        "20240303101010_add_avatar.sql":
          "-- migrate:up\nalter table profiles add column avatar text;\n-- migrate:down\nalter table profiles drop column avatar;\n",
      });
      const engine = createMigrationEngine({ executor, source: directorySource(dir) });

      const report = await engine.adopt({ from: "supabase", actor: "mover" });

      expect(report.table).toBe("supabase_migrations.schema_migrations");
      expect(report.results.map((r) => [r.migrationName, r.status])).toEqual([
        ["20240301101010_create_profiles", "adopted"],
        ["20240302101010_add_bio", "adopted"],
      ]);
      expect(
        await sql(
          database.url,
          "select error_message from platform.schema_migration_events order by id",
        ),
      ).toEqual([
        {
          error_message:
            "adopted from supabase (supabase_migrations.schema_migrations, version 20240301101010)",
        },
        {
          error_message:
            "adopted from supabase (supabase_migrations.schema_migrations, version 20240302101010)",
        },
      ]);
      const applied = await engine.apply({ actor: "mover" });
      expect(applied.results.map((r) => [r.migrationName, r.status])).toEqual([
        ["20240303101010_add_avatar", "applied"],
      ]);
    } finally {
      await executor.close();
      await database.drop();
    }
  });
});

// The executor methods themselves, on every executor over a real database.

interface Harness {
  executor: Executor;
  run(text: string): Promise<void>;
  dispose(): Promise<void>;
}

const harnesses: [string, () => Promise<Harness>][] = [
  [
    "postgres",
    async () => {
      const database = await createTestDatabase("adopt_exec_pg");
      const executor = createPostgresExecutor({ connection: database.url });
      return {
        executor,
        run: async (text) => void (await sql(database.url, text)),
        dispose: async () => {
          await executor.close();
          await database.drop();
        },
      };
    },
  ],
  [
    "pglite",
    async () => {
      const pglite = await PGlite.create();
      return {
        executor: createPGliteExecutor({ pglite }),
        run: async (text) => void (await pglite.exec(text)),
        dispose: () => pglite.close(),
      };
    },
  ],
  [
    "pg-meta",
    async () => {
      const database = await createTestDatabase("adopt_exec_pgmeta");
      const server = await startPgMeta(database.url);
      return {
        executor: createPgMetaExecutor({ url: server.url }),
        run: async (text) => void (await sql(database.url, text)),
        dispose: async () => {
          await server.stop();
          await database.drop();
        },
      };
    },
  ],
];

describe.each(harnesses)(
  "%s executor: readForeignVersions and a baseline carrying its note",
  (_name, setup) => {
    let h: Harness;
    beforeEach(async () => {
      h = await setup();
    });
    afterEach(async () => {
      await h.dispose();
    });

    it("reads dbmate's default table in the current schema, and a quoted, schema-qualified one", async () => {
      await h.run(`create table public.schema_migrations (version varchar(128) primary key);
      insert into public.schema_migrations values ('001'), ('20240101000000');
      create schema "Legacy";
      create table "Legacy"."Log" (version bigint);
      insert into "Legacy"."Log" values (7), (null);`);

      expect(await h.executor.readForeignVersions({ kind: "dbmate" })).toEqual({
        table: "public.schema_migrations",
        versions: expect.arrayContaining(["001", "20240101000000"]),
      });
      // Names are identifiers, quoted as given: case is kept, as dbmate's --migrations-table does.
      expect(await h.executor.readForeignVersions({ kind: "dbmate", table: "Legacy.Log" })).toEqual(
        {
          table: "Legacy.Log",
          versions: ["7"],
        },
      );
    });

    it("says clearly when the table or its version column is not there, and refuses a hostile name", async () => {
      await h.run("create table public.not_versions (id int)");

      const missing = h.executor.readForeignVersions({ kind: "dbmate" });
      await expect(missing).rejects.toBeInstanceOf(ForeignHistoryNotFoundError);
      await expect(missing).rejects.toThrow(
        "There is no dbmate table public.schema_migrations in this database.",
      );
      await expect(h.executor.readForeignVersions({ kind: "supabase" })).rejects.toThrow(
        "There is no supabase table supabase_migrations.schema_migrations in this database.",
      );
      await expect(
        h.executor.readForeignVersions({ kind: "dbmate", table: "not_versions" }),
      ).rejects.toThrow("The dbmate table public.not_versions has no version column.");
      // A name is never spliced into SQL: a hostile one is refused before any query.
      await h.run("create table public.victim (id int)");
      await expect(
        h.executor.readForeignVersions({
          kind: "dbmate",
          table: 'x"; drop table public.victim; --',
        }),
      ).rejects.toMatchObject({ code: "INVALID_INPUT" });
      await h.run("select 1 from public.victim");
    });

    it("records adopted migrations with a baseline event carrying the note, or nothing on a changed state", async () => {
      await h.executor.recordChanges(
        [
          {
            kind: "mark_applied",
            action: "baseline",
            migrationName: "001_a",
            checksum: "c1",
            note: "adopted from dbmate (public.schema_migrations, version 1)",
            expect: ["absent"],
          },
        ],
        "mover",
      );
      expect(await h.executor.readState()).toMatchObject([
        { migrationName: "001_a", status: "applied", appliedBy: "mover", checksum: "c1" },
      ]);
      expect(await h.executor.readEvents({ limit: 10 })).toMatchObject([
        {
          migrationName: "001_a",
          action: "baseline",
          outcome: "succeeded",
          actor: "mover",
          checksum: "c1",
          errorMessage: "adopted from dbmate (public.schema_migrations, version 1)",
        },
      ]);

      await expect(
        h.executor.recordChanges(
          [
            ...(["002_b", "001_a"] as const).map((migrationName) => ({
              kind: "mark_applied" as const,
              action: "baseline" as const,
              migrationName,
              checksum: "c",
              note: "n",
              expect: ["absent" as const],
            })),
          ],
          "mover",
        ),
      ).rejects.toBeInstanceOf(StateConflictError);
      expect((await h.executor.readState()).map((r) => r.migrationName)).toEqual(["001_a"]);
      expect(await h.executor.readEvents({ limit: 10 })).toHaveLength(1);
    });
  },
);
