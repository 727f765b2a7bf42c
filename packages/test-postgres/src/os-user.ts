import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The OS account a PostgreSQL server started here runs as, when that is not this process's. */
export interface ServerOsUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** PostgreSQL refuses to run as root; this is the account it runs as instead (as packagers do). */
export const SERVER_OS_USER_NAME = "postgres";

async function lookup(name: string): Promise<ServerOsUser | undefined> {
  try {
    const [uid, gid] = await Promise.all([run("id", ["-u", name]), run("id", ["-g", name])]);
    const ids = { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
    if (!Number.isInteger(ids.uid) || !Number.isInteger(ids.gid)) return undefined;
    return { name, ...ids };
  } catch {
    return undefined;
  }
}

async function create(name: string): Promise<ServerOsUser> {
  const failures: string[] = [];
  // Either step may lose a race with a concurrent test process doing the same, so neither
  // failure is fatal on its own: the lookup afterwards decides.
  try {
    await run("groupadd", ["--system", name]);
  } catch (error) {
    failures.push(`groupadd: ${(error as Error).message.trim()}`);
  }
  try {
    await run("useradd", [
      "--system",
      "--gid",
      name,
      "--no-create-home",
      "--home-dir",
      "/nonexistent",
      "--shell",
      "/usr/sbin/nologin",
      name,
    ]);
  } catch (error) {
    failures.push(`useradd: ${(error as Error).message.trim()}`);
  }
  const created = await lookup(name);
  if (created !== undefined) return created;
  throw new Error(
    `[test-postgres] running as root, PostgreSQL must run as OS user "${name}", which does not ` +
      `exist and could not be created (${failures.join("; ")}). Create it ` +
      `(\`useradd --system --user-group ${name}\`), or set DATABASE_URL to an existing server.`,
  );
}

let memo: Promise<ServerOsUser | undefined> | undefined;

/**
 * The account a server started here runs as: `undefined` (this process's own) unless this process
 * is root, which PostgreSQL refuses; then `postgres`, created as a system account if missing.
 * Memoised per process; a failure is not.
 */
export function serverOsUser(): Promise<ServerOsUser | undefined> {
  if (process.getuid?.() !== 0) return Promise.resolve(undefined);
  if (memo === undefined) {
    const attempt = (async () =>
      (await lookup(SERVER_OS_USER_NAME)) ?? (await create(SERVER_OS_USER_NAME)))();
    memo = attempt;
    attempt.catch(() => {
      if (memo === attempt) memo = undefined;
    });
  }
  return memo;
}
