import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { query } from "@studio/test-postgres";
import { resolveBinary } from "dbmate";
import { relationExists } from "./database.ts";

export interface DbmateRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, as a person reading the terminal would see them. */
  output: string;
}

const BINARY = resolveBinary();
// dbmate reads ./.env: run it from an empty directory of our own.
const CWD = mkdtempSync(join(tmpdir(), "differential-dbmate-"));
process.once("exit", () => rmSync(CWD, { recursive: true, force: true }));

/** lib/pq (dbmate's driver) asks for TLS unless told otherwise; the test server has none. */
function dbmateUrl(url: string): string {
  const u = new URL(url);
  if (!u.searchParams.has("sslmode")) u.searchParams.set("sslmode", "disable");
  return u.toString();
}

export interface DbmateOptions {
  /** `--migrations-table`; dbmate's default is `schema_migrations` in `current_schema()`. */
  migrationsTable?: string;
}

/** Runs dbmate 2.36 (the npm package's binary) as a user would, with no schema dump. */
export function dbmate(
  command: "migrate" | "rollback" | "status",
  dir: string,
  url: string,
  options: DbmateOptions = {},
): Promise<DbmateRun> {
  const args = ["--no-dump-schema", "-d", dir, "--url", dbmateUrl(url)];
  if (options.migrationsTable) args.push("--migrations-table", options.migrationsTable);
  args.push(command);
  return new Promise((resolve, reject) => {
    execFile(
      BINARY,
      args,
      {
        cwd: CWD,
        // Nothing of the test runner's environment (DATABASE_URL, DBMATE_*) reaches it.
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" },
        timeout: 60_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") {
          reject(error);
          return;
        }
        const code = typeof error?.code === "number" ? error.code : 0;
        resolve({ code, stdout, stderr, output: `${stdout}${stderr}` });
      },
    );
  });
}

/** `dbmate migrate`, failing the test with dbmate's output unless it exits 0. */
export async function dbmateMigrate(dir: string, url: string, options: DbmateOptions = {}) {
  const run = await dbmate("migrate", dir, url, options);
  if (run.code !== 0) throw new Error(`dbmate migrate exited ${run.code}:\n${run.output}`);
  return run;
}

/** `dbmate rollback` `steps` times (it rolls back one migration per invocation). */
export async function dbmateRollback(dir: string, url: string, steps: number) {
  for (let i = 0; i < steps; i++) {
    const run = await dbmate("rollback", dir, url);
    if (run.code !== 0) {
      throw new Error(
        `dbmate rollback (step ${i + 1} of ${steps}) exited ${run.code}:\n${run.output}`,
      );
    }
  }
}

/** The versions dbmate recorded, in its table's order. */
export async function dbmateVersions(
  url: string,
  table = "public.schema_migrations",
): Promise<string[]> {
  if (!(await relationExists(url, table))) return [];
  const rows = await query<{ version: string }>(
    url,
    `select version from ${table} order by version`,
  );
  return rows.map((r) => r.version);
}
