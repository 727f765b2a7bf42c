import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  createTestDatabase,
  findFreePort,
  type PgMetaServer,
  startPgMeta,
  type TestDatabase,
} from "@studio/test-postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  GENERATED_SECRET_FILE,
  MigrationSecretError,
  resolveMigrationSecret,
} from "../server/migration-secret.ts";
import { count, sessionCookie, sessionStatus, signIn } from "./auth-helpers.ts";
import { StudioStartError, startStudio } from "./studio-process.ts";

const LONG_SECRET = "secret-config-test-3f9c1a7e5b2d48c6"; // 35 characters
const SHORT_SECRET = "short-secret-31-characters-9d2e"; // 31 characters

let database: TestDatabase;
let pgMeta: PgMetaServer;
const dataDirs: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase("studio_secret");
  pgMeta = await startPgMeta(database.url);
});
afterAll(async () => {
  await pgMeta?.stop();
  await database?.drop();
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "studio-secret-"));
  dataDirs.push(dir);
  return dir;
}

/** Starts Studio expecting it to refuse: its exit code and the line that says why. */
async function refusal(env: Record<string, string | undefined>) {
  const error = await startStudio(env).then(
    async (studio) => {
      await studio.stop();
      throw new Error(`Studio started with ${JSON.stringify(Object.keys(env))}`);
    },
    (error: unknown) => error,
  );
  expect(error).toBeInstanceOf(StudioStartError);
  const { exitCode, output } = error as StudioStartError;
  const reasons = output.split("\n").filter((line) => line.startsWith("[studio] cannot start:"));
  return { exitCode, output, reason: reasons[0] ?? "", reasons };
}

describe("Studio refuses to start without a strong secret in production against a real database", () => {
  it("refuses PostgreSQL (DATABASE_URL) without MIGRATION_SECRET, saying why in one line, exit 1", async () => {
    const { exitCode, reason, reasons } = await refusal({ DATABASE_URL: database.url });
    expect(exitCode).toBe(1);
    expect(reasons).toHaveLength(1);
    expect(reason).toBe(
      "[studio] cannot start: MIGRATION_SECRET is required in production against a real database (DATABASE_URL): set it to a random string of at least 32 characters, e.g. the output of `openssl rand -base64 32`.",
    );
  });

  it("refuses postgres-meta (PG_META_URL) without MIGRATION_SECRET", async () => {
    const { exitCode, reason } = await refusal({ PG_META_URL: pgMeta.url });
    expect(exitCode).toBe(1);
    expect(reason).toContain("MIGRATION_SECRET is required in production");
    expect(reason).toContain("(PG_META_URL)");
  });

  it("refuses MIGRATION_SECRET=a, and one of 31 characters, naming the length and never the secret", async () => {
    const one = await refusal({ DATABASE_URL: database.url, MIGRATION_SECRET: "a" });
    expect(one.exitCode).toBe(1);
    expect(one.reason).toBe(
      "[studio] cannot start: MIGRATION_SECRET is too short: 1 character, and in production against a real database (DATABASE_URL) it must be at least 32; use a random one, e.g. the output of `openssl rand -base64 32`.",
    );

    const short = await refusal({ PG_META_URL: pgMeta.url, MIGRATION_SECRET: SHORT_SECRET });
    expect(short.exitCode).toBe(1);
    expect(short.reason).toContain("MIGRATION_SECRET is too short: 31 characters");
    expect(short.output).not.toContain(SHORT_SECRET);
  });

  it("refuses a secret with a trailing newline, which no HTTP header could carry", async () => {
    const { exitCode, reason, output } = await refusal({
      DATABASE_URL: database.url,
      MIGRATION_SECRET: `${LONG_SECRET}\n`,
    });
    expect(exitCode).toBe(1);
    expect(reason).toContain("MIGRATION_SECRET begins or ends with whitespace");
    expect(output).not.toContain(LONG_SECRET);
  });

  it("starts with a secret of 32 characters or more, which then authenticates", async () => {
    const dir = dataDir();
    const studio = await startStudio({
      DATABASE_URL: database.url,
      MIGRATION_SECRET: LONG_SECRET,
      STUDIO_DATA_DIR: dir,
    });
    try {
      const list = await fetch(`${studio.url}/api/platform/migrations`, {
        headers: { "x-migration-secret": LONG_SECRET },
      });
      expect(list.status).toBe(200);
      expect(studio.output()).not.toContain(LONG_SECRET);
      // A secret that was set is never written to the data directory.
      expect(() => statSync(join(dir, GENERATED_SECRET_FILE))).toThrow();
    } finally {
      await studio.stop();
    }
  });

  it("`npm start` makes up no secret of its own: against PostgreSQL it refuses, exit 1", async () => {
    // What `npm start` runs, on the build the global setup made, with the user's environment:
    // no NODE_ENV (Next's `start` makes it production) and no MIGRATION_SECRET.
    const port = await findFreePort();
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (value === undefined || key === "NODE_ENV" || key === "NODE_OPTIONS") continue;
      if (key.startsWith("VITEST") || key === "MIGRATION_SECRET" || key === "PG_META_URL") continue;
      env[key] = value;
    }
    const run = await runToExit(
      spawn(process.execPath, [fileURLToPath(new URL("../scripts/start.mjs", import.meta.url))], {
        // Next's types make NODE_ENV required; leaving it out is the point here.
        env: {
          ...env,
          DATABASE_URL: database.url,
          STUDIO_SKIP_BUILD: "1",
          HOST: "127.0.0.1",
          PORT: String(port),
        } as Record<string, string> as NodeJS.ProcessEnv,
        detached: true,
        stdio: ["ignore", "pipe", "pipe"],
      }),
    );
    expect(run.code).toBe(1);
    expect(run.output).toContain(
      "[studio] cannot start: MIGRATION_SECRET is required in production against a real database (DATABASE_URL)",
    );
    expect(run.output).not.toContain("Studio is running");
  });
});

describe("on the embedded database Studio makes a secret, prints it once and keeps it", () => {
  it("generates one, prints it once, keeps it in STUDIO_DATA_DIR (0600), and uses the same after a restart", async () => {
    const dir = dataDir();
    const first = await startStudio({ STUDIO_DATA_DIR: dir });
    let secret: string;
    try {
      const file = join(dir, GENERATED_SECRET_FILE);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      secret = readFileSync(file, "utf8").trim();
      expect(secret.length).toBeGreaterThanOrEqual(32);
      expect(count(first.output(), secret)).toBe(1);
      expect(first.output()).toContain(`kept for this data directory in ${file}`);

      const signedIn = await signIn(first, secret);
      expect(signedIn.status).toBe(204);
      expect(await sessionStatus(first, sessionCookie(signedIn))).toBe(200);
    } finally {
      await first.stop();
    }

    const second = await startStudio({ STUDIO_DATA_DIR: dir });
    try {
      // Not printed again: the file is where it is.
      expect(second.output()).not.toContain(secret);
      expect(second.output()).toContain(
        `using the one generated on an earlier start, kept in ${join(dir, GENERATED_SECRET_FILE)}`,
      );
      const list = await fetch(`${second.url}/api/platform/migrations`, {
        headers: { "x-migration-secret": secret },
      });
      expect(list.status).toBe(200);
      expect((await signIn(second, secret)).status).toBe(204);
      expect(readFileSync(join(dir, GENERATED_SECRET_FILE), "utf8").trim()).toBe(secret);
    } finally {
      await second.stop();
    }
  });

  it("uses MIGRATION_SECRET when it is set, even a short one, and keeps no file", async () => {
    const dir = dataDir();
    const studio = await startStudio({ STUDIO_DATA_DIR: dir, MIGRATION_SECRET: "a" });
    try {
      expect((await signIn(studio, "a")).status).toBe(204);
      expect(() => statSync(join(dir, GENERATED_SECRET_FILE))).toThrow();
    } finally {
      await studio.stop();
    }
  });
});

describe("resolveMigrationSecret", () => {
  const base = { production: true, realDatabase: null, value: undefined } as const;

  it("in development against a real database, generates and keeps one as on the embedded one", () => {
    const dir = dataDir();
    const made = resolveMigrationSecret({
      ...base,
      production: false,
      realDatabase: "DATABASE_URL",
      dataDir: dir,
    });
    expect(made.source).toBe("generated");
    const again = resolveMigrationSecret({
      ...base,
      production: false,
      realDatabase: "DATABASE_URL",
      dataDir: dir,
    });
    expect(again).toEqual({ ...made, source: "kept" });
  });

  it("tightens a kept file's mode to 0600 and refuses an empty one", () => {
    const dir = dataDir();
    const file = join(dir, GENERATED_SECRET_FILE);
    writeFileSync(file, "kept-secret\n", { mode: 0o644 });
    expect(resolveMigrationSecret({ ...base, dataDir: dir })).toEqual({
      value: "kept-secret",
      source: "kept",
      file,
    });
    expect(statSync(file).mode & 0o777).toBe(0o600);

    writeFileSync(file, "");
    expect(() => resolveMigrationSecret({ ...base, dataDir: dir })).toThrow(MigrationSecretError);
    expect(() => resolveMigrationSecret({ ...base, dataDir: dir })).toThrow(/is empty/);
  });

  it("counts characters, not bytes: 32 characters of any script are enough", () => {
    const value = "é".repeat(32);
    expect(
      resolveMigrationSecret({ ...base, value, realDatabase: "PG_META_URL", dataDir: dataDir() }),
    ).toEqual({ value, source: "environment" });
    expect(() =>
      resolveMigrationSecret({
        ...base,
        value: "é".repeat(31),
        realDatabase: "PG_META_URL",
        dataDir: dataDir(),
      }),
    ).toThrow(/too short: 31 characters/);
  });
});

/** Runs a process group to its end (killing it if it does not end within 60 s). */
async function runToExit(child: ChildProcess): Promise<{ code: number | null; output: string }> {
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const timer = setTimeout(() => {
    if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
  }, 60_000);
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  clearTimeout(timer);
  try {
    if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
  } catch {}
  return { code, output };
}
