import { execFile } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createTestDatabase } from "@studio/test-postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migration, states, WIDGETS } from "./testing/cli.ts";
import { PACKAGE_ROOT, REPO_ROOT } from "./testing/paths.ts";

// `bin/studio-migrate.js` runs the bundle (`scripts/bundle.mjs`) only while it is exactly what was
// built from the current `dist/`, and `dist/cli.js` otherwise. Exercised on a copy of the package
// (bin, dist, scripts), so that rebuilding and touching files here never races the other test
// files, which run the real bin. Which modules a run loads is logged by a module loader hook.

const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), "studio-migrate-bundle-"));
const copy = join(work, "studio-migrate");
const loadLog = join(work, "loaded.log");

beforeAll(async () => {
  for (const part of ["bin", "scripts", "package.json"]) {
    cpSync(join(PACKAGE_ROOT, part), join(copy, part), { recursive: true });
  }
  // The build as `tsc -b` left it, without a bundle: the test builds its own.
  cpSync(join(PACKAGE_ROOT, "dist"), join(copy, "dist"), {
    recursive: true,
    filter: (source) => !source.split(/[\\/]/).at(-1)?.startsWith("cli.bundle"),
  });
  // Bare imports (pg, esbuild, the workspace packages) resolve as they do from the package.
  symlinkSync(join(REPO_ROOT, "node_modules"), join(work, "node_modules"), "dir");
  writeFileSync(
    join(work, "hooks.mjs"),
    `import { appendFileSync } from "node:fs";
let log;
export function initialize(data) { log = data.log; }
export async function load(url, context, next) {
  if (url.startsWith("file:")) appendFileSync(log, url + "\\n");
  return next(url, context);
}
`,
  );
  writeFileSync(
    join(work, "register.mjs"),
    `import { register } from "node:module";
register(new URL("./hooks.mjs", import.meta.url), { data: { log: ${JSON.stringify(loadLog)} } });
`,
  );
  await bundle();
});

afterAll(() => rmSync(work, { recursive: true, force: true }));

function bundle(...flags: string[]) {
  return run(process.execPath, [join(copy, "scripts", "bundle.mjs"), ...flags], { cwd: copy });
}

/** Runs the copy's bin; answers its output and the files of the package it loaded. */
async function bin(args: string[], env: Record<string, string> = {}) {
  rmSync(loadLog, { force: true });
  const { stdout } = await run(
    process.execPath,
    ["--import", join(work, "register.mjs"), join(copy, "bin", "studio-migrate.js"), ...args],
    { cwd: work, env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env } },
  );
  const loaded = readFileSync(loadLog, "utf8")
    .split("\n")
    .filter((url) => url.includes("/studio-migrate/dist/"))
    .map((url) => url.slice(url.indexOf("/dist/") + "/dist/".length));
  return { stdout, loaded };
}

describe("the bundle", () => {
  it("is what the bin runs while it is fresh: no module of dist/ but the bundle's", async () => {
    const { stdout, loaded } = await bin(["--version"]);

    expect(stdout.trim()).toBe(`studio-migrate ${packageVersion()}`);
    expect(loaded).toContain("cli.bundle.js");
    expect(loaded.every((file) => file.startsWith("cli.bundle"))).toBe(true);
  });

  it("applies migrations and then has nothing to do, against a real database", async () => {
    const database = await createTestDatabase("cli_bundle");
    try {
      const dir = mkdtempSync(join(work, "migrations-"));
      for (const [name, text] of Object.entries(WIDGETS)) writeFileSync(join(dir, name), text);
      const args = ["apply", "--migrations-dir", dir, "--actor", "tester"];
      const env = { DATABASE_URL: database.url };

      const first = await bin(args, env);
      const again = await bin(args, env);

      expect(first.stdout).toContain("Applied 3 migrations");
      expect(again.stdout).toContain("Nothing to apply");
      expect(again.loaded).not.toContain("cli.js");
      expect(again.loaded.some((file) => /^cli\.bundle\.target-direct-.*\.js$/.test(file))).toBe(
        true,
      );
      expect(await states(database.url)).toEqual({
        "001_create_widgets": "applied",
        "002_add_widget_name": "applied",
        "003_create_gadgets": "applied",
      });
    } finally {
      await database.drop();
    }
  });

  it("loads `new` as a chunk of its own, and nothing of the URL mode", async () => {
    const dir = mkdtempSync(join(work, "new-"));
    writeFileSync(join(dir, "001_first.sql"), migration("select 1;"));

    const created = await bin(["new", "second", "--migrations-dir", dir]);

    expect(created.stdout).toContain("Created");
    expect(created.loaded.some((file) => /^cli\.bundle\.new-migration-.*\.js$/.test(file))).toBe(
      true,
    );
    expect(created.loaded.some((file) => file.includes("target-url"))).toBe(false);
  });

  it("is not run once a file it was built from changes: dist/ runs, until it is rebuilt", async () => {
    // What `tsc -b` does to a module it rebuilds after an edit.
    const later = new Date(Date.now() + 5_000);
    utimesSync(join(copy, "dist", "commands.js"), later, later);

    const stale = await bin(["--version"]);

    expect(stale.stdout.trim()).toBe(`studio-migrate ${packageVersion()}`);
    expect(stale.loaded).toContain("cli.js");
    expect(stale.loaded).toContain("commands.js");
    expect(stale.loaded.some((file) => file.startsWith("cli.bundle"))).toBe(false);

    await bundle("--if-stale");
    const rebuilt = await bin(["--version"]);
    expect(rebuilt.loaded).toContain("cli.bundle.js");
    expect(rebuilt.loaded).not.toContain("cli.js");
  });

  it("is not run when a file of it is missing, nor without its manifest", async () => {
    await bundle();
    rmSync(join(copy, "dist", "cli.bundle.js"));
    expect((await bin(["--version"])).loaded).toContain("cli.js");

    await bundle();
    rmSync(join(copy, "dist", "cli.bundle.json"));
    expect((await bin(["--version"])).loaded).toContain("cli.js");

    await bundle("--if-stale");
    expect(existsSync(join(copy, "dist", "cli.bundle.json"))).toBe(true);
    expect((await bin(["--version"])).loaded).toContain("cli.bundle.js");
  });
});

function packageVersion(): string {
  return (
    JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string }
  ).version;
}
