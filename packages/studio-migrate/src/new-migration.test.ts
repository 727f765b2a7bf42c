import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { flat, migration, removeTempDirs, runCli, tempDir } from "./testing/cli.ts";

afterAll(() => removeTempDirs());

function newMigration(dir: string, name: string, ...args: string[]) {
  return runCli(["new", name, ...args], { env: { MIGRATIONS_DIR: dir } });
}

describe("new", () => {
  it("creates 001 in a directory that does not exist yet, with empty up and down sections", async () => {
    const dir = join(tempDir(), "migrations");

    const result = await newMigration(dir, "add_billing_plans");

    expect(result.code).toBe(0);
    const path = join(dir, "001_add_billing_plans.sql");
    expect(result.stdout).toContain(`Created ${path}`);
    expect(flat(result.stdout)).toContain("Until the up section has SQL the file does not load");
    expect(readFileSync(path, "utf8")).toBe("-- migrate:up\n\n-- migrate:down\n");
  });

  it("numbers one past the highest prefix, padded like the widest one", async () => {
    const three = tempDir({
      "000_tracking.sql": migration("select 1;"),
      "008_add_active_org_tracking.sql": migration("select 1;"),
      "notes.txt": "not a migration",
    });
    const four = tempDir({ "0099_create_things.sql": migration("select 1;") });

    expect((await newMigration(three, "add_billing_plans")).code).toBe(0);
    expect((await newMigration(four, "add_billing_plans")).code).toBe(0);

    expect(readdirSync(three)).toContain("009_add_billing_plans.sql");
    expect(readdirSync(four)).toContain("0100_add_billing_plans.sql");
  });

  it("takes the directory from --migrations-dir over MIGRATIONS_DIR", async () => {
    const flagged = tempDir();
    const fromEnv = tempDir();

    const result = await newMigration(fromEnv, "add_index", "--migrations-dir", flagged);

    expect(result.code).toBe(0);
    expect(readdirSync(flagged)).toEqual(["001_add_index.sql"]);
    expect(readdirSync(fromEnv)).toEqual([]);
  });

  it.each([
    ["Add-Billing", "is not a snake_case name"],
    ["add billing", "is not a snake_case name"],
    ["009_add_billing", "Give the name without a number"],
  ])("refuses %j with exit 2", async (name, message) => {
    const dir = tempDir();

    const result = await newMigration(dir, name);

    expect(result.code).toBe(2);
    expect(flat(result.stderr)).toContain(message);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("refuses a name that is already taken, and leaves the existing file alone", async () => {
    const original = migration("create table plans (id int);");
    const dir = tempDir({ "004_add_billing_plans.sql": original });

    const result = await newMigration(dir, "add_billing_plans");

    expect(result.code).toBe(2);
    expect(flat(result.stderr)).toContain("A migration named add_billing_plans already exists");
    expect(readdirSync(dir)).toEqual(["004_add_billing_plans.sql"]);
    expect(readFileSync(join(dir, "004_add_billing_plans.sql"), "utf8")).toBe(original);
  });

  it("answers with the path under --json", async () => {
    const dir = tempDir();

    const result = await newMigration(dir, "add_index", "--json");

    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      ok: true,
      command: "new",
      result: { migrationName: "001_add_index", path: join(dir, "001_add_index.sql") },
    });
  });
});
