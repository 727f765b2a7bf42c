import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { BIN, REPO_ROOT } from "./paths.ts";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built CLI as a child process, the way a deploy pipeline does. Its environment is only
 * what a test passes (plus PATH and HOME): nothing of the test runner's DATABASE_URL,
 * MIGRATION_SECRET or MIGRATIONS_DIR leaks in.
 */
export function runCli(
  args: readonly string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<CliResult> {
  const env = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...options.env };
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env, cwd: options.cwd ?? REPO_ROOT, maxBuffer: 16 * 1024 * 1024, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") {
          reject(error);
          return;
        }
        resolve({ code: typeof error?.code === "number" ? error.code : 0, stdout, stderr });
      },
    );
  });
}

/** dbmate's format: an up section, and a down section when given. */
export function migration(up: string, down?: string): string {
  return `-- migrate:up\n${up}\n${down === undefined ? "" : `\n-- migrate:down\n${down}\n`}`;
}

export const WIDGETS: Record<string, string> = {
  "001_create_widgets.sql": migration(
    "create table widgets (id int primary key);",
    "drop table widgets;",
  ),
  "002_add_widget_name.sql": migration(
    "alter table widgets add column name text;",
    "alter table widgets drop column name;",
  ),
  "003_create_gadgets.sql": migration(
    "create table gadgets (id int primary key);",
    "drop table gadgets;",
  ),
};

const created: string[] = [];

/** A temporary directory holding `files`; removed by `removeTempDirs`. */
export function tempDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "studio-migrate-test-"));
  created.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export async function query<Row extends Record<string, unknown>>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Row>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

export interface TrackedRow extends Record<string, unknown> {
  migration_name: string;
  status: string;
  applied_by: string | null;
  rolled_back_by: string | null;
  error_message: string | null;
  checksum: string | null;
}

/** `platform.schema_migrations` as the database holds it; empty when it does not exist yet. */
export async function trackedRows(url: string): Promise<TrackedRow[]> {
  const [exists] = await query<{ ok: boolean }>(
    url,
    "select to_regclass('platform.schema_migrations') is not null as ok",
  );
  if (!exists?.ok) return [];
  return query<TrackedRow>(
    url,
    `select migration_name, status, applied_by, rolled_back_by, error_message, checksum
       from platform.schema_migrations order by migration_name`,
  );
}

/** `migration_name: status` for every tracked migration, for compact assertions. */
export async function states(url: string): Promise<Record<string, string>> {
  return Object.fromEntries(
    (await trackedRows(url)).map((row) => [row.migration_name, row.status]),
  );
}

export async function tableExists(url: string, name: string): Promise<boolean> {
  const [row] = await query<{ ok: boolean }>(url, "select to_regclass($1) is not null as ok", [
    name,
  ]);
  return row?.ok === true;
}

export interface EventRow extends Record<string, unknown> {
  migration_name: string;
  action: string;
  outcome: string;
  actor: string | null;
}

export async function events(url: string): Promise<EventRow[]> {
  return query<EventRow>(
    url,
    "select migration_name, action, outcome, actor from platform.schema_migration_events order by id",
  );
}

/** Output with its word-wrapping undone, for assertions on sentences that may span lines. */
export function flat(text: string): string {
  return text.replace(/\s+/g, " ");
}
