import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { accessSync, chmodSync, constants, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { findFreePort } from "@studio/test-postgres";
import pg from "pg";

/** Debian's `pgbouncer` (`scripts/ensure-pgbouncer.sh` installs it). */
export const PGBOUNCER_BIN = process.env.PGBOUNCER_BIN ?? "/usr/sbin/pgbouncer";

const isRoot = process.getuid?.() === 0;

/** Why PgBouncer cannot run here, or null when it can. */
export function pgbouncerUnavailable(): string | null {
  try {
    accessSync(PGBOUNCER_BIN, constants.X_OK);
  } catch {
    return `${PGBOUNCER_BIN} is not installed (run scripts/ensure-pgbouncer.sh as root)`;
  }
  // PgBouncer refuses to run as root; it switches to `postgres` with -u.
  if (isRoot && spawnSync("id", ["-u", "postgres"]).status !== 0) {
    return "running as root, and there is no `postgres` user for PgBouncer to switch to";
  }
  return null;
}

export interface PgBouncer {
  readonly port: number;
  /** A URL that reaches `database` on the server through PgBouncer. */
  urlFor(database: string): string;
  /** What PgBouncer logged, for diagnostics. */
  logs(): string;
  stop(): Promise<void>;
}

export interface PgBouncerOptions {
  /** The real server, e.g. the test server's admin URL (user and password are taken from it). */
  serverUrl: string;
  /** Server connections per database and user: fewer than clients, so they are shared. */
  poolSize: number;
  /** Aliases with a pool of their own: `{ alias: { database, poolSize } }`. */
  aliases?: Record<string, { database: string; poolSize: number }>;
}

/**
 * Starts PgBouncer on a free loopback port in transaction pooling mode, in front of the server at
 * `serverUrl` (any database). Its config lives in a temporary directory readable by the user it
 * runs as. A shell watchdog stops it when this process's end of its stdin closes — on `stop()`,
 * or when the test process dies however it does.
 */
export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  const server = new URL(options.serverUrl);
  const user = decodeURIComponent(server.username || "postgres");
  const password = decodeURIComponent(server.password);
  const host = server.hostname || "127.0.0.1";
  const serverPort = server.port || "5432";
  const target = (extra: string) =>
    `host=${host} port=${serverPort} user=${user}${password ? ` password=${password}` : ""}${extra}`;

  const dir = mkdtempSync(join(tmpdir(), "reliability-pgbouncer-"));
  chmodSync(dir, 0o755);
  const port = await findFreePort();
  const aliases = Object.entries(options.aliases ?? {}).map(
    ([alias, { database, poolSize }]) =>
      `${alias} = ${target(` dbname=${database} pool_size=${poolSize}`)}`,
  );
  const ini = [
    "[databases]",
    ...aliases,
    `* = ${target("")}`,
    "[pgbouncer]",
    "listen_addr = 127.0.0.1",
    `listen_port = ${port}`,
    "unix_socket_dir =",
    "auth_type = trust",
    `auth_file = ${join(dir, "users.txt")}`,
    "pool_mode = transaction",
    `default_pool_size = ${options.poolSize}`,
    "reserve_pool_size = 0",
    "max_client_conn = 1000",
    "ignore_startup_parameters = extra_float_digits,options",
    "log_connections = 0",
    "log_disconnections = 0",
    "",
  ].join("\n");
  writeFileSync(join(dir, "pgbouncer.ini"), ini, { mode: 0o644 });
  writeFileSync(join(dir, "users.txt"), `"${user}" ""\n`, { mode: 0o644 });

  const args = [...(isRoot ? ["-u", "postgres"] : []), join(dir, "pgbouncer.ini")];
  const child: ChildProcess = spawn(
    "sh",
    ["-c", '"$0" "$@" & pid=$!; read _ignored; kill $pid; wait $pid', PGBOUNCER_BIN, ...args],
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  let output = "";
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  child.stdin?.on("error", () => {});
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      child.stdin?.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };
  const urlFor = (database: string) =>
    `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;

  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`pgbouncer exited with ${child.exitCode}:\n${output}`);
    }
    const probe = new pg.Client({ connectionString: urlFor("postgres") });
    probe.on("error", () => {});
    try {
      await probe.connect();
      await probe.query("select 1");
      await probe.end();
      break;
    } catch {
      await probe.end().catch(() => {});
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`pgbouncer did not accept connections within 15 s:\n${output}`);
      }
      await sleep(100);
    }
  }
  return { port, urlFor, logs: () => output, stop };
}
