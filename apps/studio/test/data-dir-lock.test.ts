import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type StudioProcess, startStudio } from "./studio-process.ts";

const SECRET = "data-dir-lock-test-secret-8d41";
const dataDir = mkdtempSync(join(tmpdir(), "studio-data-dir-lock-"));
const lockFile = join(dataDir, "studio.lock");
const started: StudioProcess[] = [];

afterAll(async () => {
  await Promise.all(started.map((studio) => studio.stop()));
  rmSync(dataDir, { recursive: true, force: true });
});

function holderPid(): number {
  return (JSON.parse(readFileSync(lockFile, "utf8")) as { pid: number }).pid;
}

describe("Studio on the embedded database", () => {
  it("refuses to start on a data directory another Studio has open, naming it; starts once that one stopped", async () => {
    const env = { STUDIO_DATA_DIR: dataDir, MIGRATION_SECRET: SECRET };
    const first = await startStudio(env);
    started.push(first);
    // Opened at start-up, not on the first request.
    const pid = holderPid();
    expect(first.output()).toContain(`locked for process ${pid} on ${hostname()}`);

    const refusal = await startStudio(env).then(
      (second) => {
        started.push(second);
        return new Error("the second Studio started");
      },
      (error: unknown) => error as Error,
    );
    expect(refusal.message).toMatch(/^Studio exited with 1:/);
    expect(refusal.message).toContain(
      `cannot start: the embedded database in ${dataDir} is in use by process ${pid} on ${hostname()}`,
    );
    expect(refusal.message).toContain("set STUDIO_DATA_DIR to another directory");

    // The first goes on serving, and holds the directory until it stops.
    expect((await fetch(`${first.url}/api/health`)).status).toBe(200);
    expect(holderPid()).toBe(pid);
    await first.stop();
    expect(existsSync(lockFile)).toBe(false);

    const next = await startStudio(env);
    started.push(next);
    expect(holderPid()).not.toBe(pid);
    expect((await fetch(`${next.url}/api/health`)).status).toBe(200);
  });
});
