import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { transformWithOxc } from "vite";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  DATA_DIRECTORY_LOCK_FILE,
  DataDirectoryInUseError,
  type DataDirectoryLock,
  lockDataDirectory,
} from "./data-dir-lock.ts";

// The other processes run the module itself: its source, with the types stripped (it imports
// node built-ins only), next to a small driver.
const DRIVER = `
import { lockDataDirectory } from "./data-dir-lock.mjs";
const [mode, dir] = process.argv.slice(2);
if (mode === "race") {
  // Loaded and ready; then start with the others, to the millisecond the test sends.
  console.log("ready");
  const startAt = await new Promise((resolve) => {
    let input = "";
    process.stdin.on("data", (chunk) => {
      input += chunk;
      if (input.includes("\\n")) resolve(Number(input.split("\\n")[0]));
    });
  });
  await new Promise((resolve) => setTimeout(resolve, startAt - Date.now() - 20));
  while (Date.now() < startAt);
}
let lock;
try {
  lock = await lockDataDirectory(dir);
} catch (error) {
  console.log(JSON.stringify({ ok: false, name: error.name, message: error.message }));
  process.exit(3);
}
console.log(JSON.stringify({ ok: true, pid: process.pid }));
if (mode === "try") {
  await lock.release();
} else if (mode === "exit") {
  process.exit(0); // without release(): the exit handler removes the file
} else {
  // "hold" and "race": until the test closes stdin, or kills it.
  process.stdin.resume();
  process.stdin.on("end", () => lock.release().then(() => process.exit(0)));
}
`;

interface Outcome {
  ok: boolean;
  pid?: number;
  name?: string;
  message?: string;
}

interface Child {
  process: ChildProcess;
  pid: number;
  /** "race" only: loaded, waiting for the start time. */
  ready: Promise<void>;
  /** The driver's one line: locked, or refused. */
  outcome: Promise<Outcome>;
  exited: Promise<number | null>;
}

let driverDir: string;
let dir: string;
const children: Child[] = [];
const locks: DataDirectoryLock[] = [];

beforeAll(async () => {
  driverDir = mkdtempSync(join(tmpdir(), "data-dir-lock-driver-"));
  const source = fileURLToPath(new URL("./data-dir-lock.ts", import.meta.url));
  const { code } = await transformWithOxc(readFileSync(source, "utf8"), source, { lang: "ts" });
  writeFileSync(join(driverDir, "data-dir-lock.mjs"), code);
  writeFileSync(join(driverDir, "driver.mjs"), DRIVER);
});
afterAll(() => rmSync(driverDir, { recursive: true, force: true }));

afterEach(async () => {
  for (const lock of locks.splice(0)) await lock.release();
  for (const child of children.splice(0)) {
    if (child.process.exitCode === null && child.process.signalCode === null) {
      child.process.kill("SIGKILL");
      await child.exited;
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

function freshDir(): string {
  dir = mkdtempSync(join(tmpdir(), "data-dir-lock-"));
  return dir;
}

function runChild(mode: "try" | "hold" | "exit" | "race"): Child {
  const child = spawn(process.execPath, [join(driverDir, "driver.mjs"), mode, dir], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  if (child.pid === undefined) throw new Error("could not spawn the driver");
  let stdout = "";
  let stderr = "";
  const lines = new Map<string, (line: string) => void>();
  const line = (prefix: string) =>
    new Promise<string>((resolve, reject) => {
      lines.set(prefix, resolve);
      child.once("exit", (code) =>
        reject(new Error(`driver exited (${code}) before saying ${prefix}…: ${stderr}`)),
      );
    });
  const ready = line("ready").then(() => undefined);
  const outcome = line("{").then((json) => JSON.parse(json) as Outcome);
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const complete of stdout.split("\n").slice(0, -1))
      for (const [prefix, resolve] of lines) if (complete.startsWith(prefix)) resolve(complete);
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  // Rejections of lines nobody waits for are not failures.
  ready.catch(() => {});
  outcome.catch(() => {});
  const handle = { process: child, pid: child.pid, ready, outcome, exited };
  children.push(handle);
  return handle;
}

async function lock(directory: string): Promise<DataDirectoryLock> {
  const taken = await lockDataDirectory(directory);
  locks.push(taken);
  return taken;
}

function lockFile(): string {
  return join(dir, DATA_DIRECTORY_LOCK_FILE);
}

function lockRecord(): Record<string, unknown> {
  return JSON.parse(readFileSync(lockFile(), "utf8")) as Record<string, unknown>;
}

/** A pid that was a process a moment ago and is not any more. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  if (child.pid === undefined) throw new Error("could not spawn");
  return child.pid;
}

const onLinux = existsSync("/proc/self/stat") && existsSync("/proc/sys/kernel/random/boot_id");

describe("lockDataDirectory", () => {
  it("refuses a second process, naming the holder's pid and host; release lets another in", async () => {
    freshDir();
    const mine = await lock(dir);
    expect(lockRecord()).toMatchObject({ pid: process.pid, host: hostname() });

    const refused = await runChild("try").outcome;
    expect(refused.ok).toBe(false);
    expect(refused.name).toBe("DataDirectoryInUseError");
    expect(refused.message).toContain(`in use by process ${process.pid} on ${hostname()}`);

    await mine.release();
    expect(existsSync(lockFile())).toBe(false);
    const second = runChild("try");
    expect(await second.outcome).toEqual({ ok: true, pid: second.pid });
    expect(await second.exited).toBe(0);
    expect(existsSync(lockFile())).toBe(false);
  });

  it("is refused while another process holds it, and takes it over once that process is killed", async () => {
    freshDir();
    const holder = runChild("hold");
    expect((await holder.outcome).ok).toBe(true);

    const refusal = await lockDataDirectory(dir).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(DataDirectoryInUseError);
    expect((refusal as DataDirectoryInUseError).holder).toMatchObject({
      pid: holder.pid,
      host: hostname(),
    });
    expect((refusal as Error).message).toContain(`process ${holder.pid} on ${hostname()}`);

    // Killed outright: no exit handler runs, the file stays behind, naming a dead process.
    holder.process.kill("SIGKILL");
    await holder.exited;
    expect(lockRecord()).toMatchObject({ pid: holder.pid });
    await lock(dir);
    expect(lockRecord()).toMatchObject({ pid: process.pid });
  });

  it("is released when its process exits without releasing it", async () => {
    freshDir();
    const child = runChild("exit");
    expect((await child.outcome).ok).toBe(true);
    expect(await child.exited).toBe(0);
    expect(existsSync(lockFile())).toBe(false);
  });

  it("lets exactly one of several processes take over one stale lock at once", async () => {
    freshDir();
    // A few rounds: the window a careless takeover leaves is narrow.
    for (let round = 0; round < 3; round++) {
      const stale = { pid: await deadPid(), host: hostname(), startedAt: `2020-01-0${round + 1}` };
      writeFileSync(lockFile(), JSON.stringify(stale));
      const racers = Array.from({ length: 8 }, () => runChild("race"));
      await Promise.all(racers.map((racer) => racer.ready));
      const startAt = Date.now() + 100;
      for (const racer of racers) racer.process.stdin?.write(`${startAt}\n`);
      const outcomes = await Promise.all(racers.map((racer) => racer.outcome));

      const winners = outcomes.filter((outcome) => outcome.ok);
      expect(winners).toHaveLength(1);
      const winner = racers.find((racer) => racer.pid === winners[0]?.pid);
      expect(lockRecord()).toMatchObject({ pid: winner?.pid });
      for (const outcome of outcomes.filter((o) => !o.ok))
        expect(outcome.message).toContain(`in use by process ${winner?.pid} on ${hostname()}`);

      // The winner lets go (closing its stdin), and leaves nothing behind.
      winner?.process.stdin?.end();
      expect(await winner?.exited).toBe(0);
      expect(existsSync(lockFile())).toBe(false);
    }
  });

  it("never takes over a lock from another host, and says which file to delete", async () => {
    freshDir();
    const foreign = {
      pid: process.pid,
      host: "gone-host.invalid",
      startedAt: "2020-01-01T00:00:00Z",
    };
    writeFileSync(lockFile(), JSON.stringify(foreign));
    const refusal = await lockDataDirectory(dir).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(DataDirectoryInUseError);
    expect((refusal as Error).message).toContain(`process ${process.pid} on gone-host.invalid`);
    expect((refusal as Error).message).toContain(`delete ${lockFile()}`);
    expect(JSON.parse(readFileSync(lockFile(), "utf8"))).toEqual(foreign);
  });

  it("refuses a second lock in the same process, and takes over its own pid's lock it does not hold", async () => {
    freshDir();
    const first = await lock(dir);
    await expect(lockDataDirectory(dir)).rejects.toThrow(`process ${process.pid} on ${hostname()}`);
    await first.release();

    // A previous life of this process (a restarted container, pid 1 again).
    writeFileSync(
      lockFile(),
      JSON.stringify({ pid: process.pid, host: hostname(), startedAt: "2020-01-01T00:00:00Z" }),
    );
    await lock(dir);
    expect(lockRecord()).toMatchObject({ pid: process.pid });
    expect(lockRecord().startedAt).not.toBe("2020-01-01T00:00:00Z");
  });

  it.runIf(onLinux)(
    "does not count a recycled pid, or one from before a restart, as the holder",
    async () => {
      freshDir();
      const unrelated = runChild("hold"); // alive, but not the process the lock names
      expect((await unrelated.outcome).ok).toBe(true);
      const bootId = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
      const base = { pid: unrelated.pid, host: hostname(), startedAt: "2020-01-01T00:00:00Z" };

      writeFileSync(lockFile(), JSON.stringify({ ...base, bootId, processStart: "1" }));
      await (await lockDataDirectory(dir)).release();

      writeFileSync(lockFile(), JSON.stringify({ ...base, bootId: "another-boot" }));
      await (await lockDataDirectory(dir)).release();

      // The same, with the right start time: that process holds it.
      const stat = readFileSync(`/proc/${unrelated.pid}/stat`, "utf8");
      const processStart = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
      writeFileSync(lockFile(), JSON.stringify({ ...base, bootId, processStart }));
      await expect(lockDataDirectory(dir)).rejects.toThrow(`process ${unrelated.pid}`);
    },
  );

  it("waits for a lock file being written, and takes over one left corrupt", async () => {
    freshDir();
    const holder = runChild("hold");
    const { pid } = await holder.outcome;
    const record = readFileSync(lockFile(), "utf8");

    // As a creator sees it between creating the file and writing it: empty.
    writeFileSync(lockFile(), "");
    const attempt = lockDataDirectory(dir).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 300));
    writeFileSync(lockFile(), record);
    expect(await attempt).toBeInstanceOf(DataDirectoryInUseError);
    expect(((await attempt) as Error).message).toContain(`process ${pid}`);

    writeFileSync(lockFile(), "{ not json");
    const longAgo = new Date(Date.now() - 60_000);
    utimesSync(lockFile(), longAgo, longAgo);
    await lock(dir);
    expect(lockRecord()).toMatchObject({ pid: process.pid });
  });
});
