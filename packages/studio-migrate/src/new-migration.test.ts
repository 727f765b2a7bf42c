import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createTestDatabase } from "@studio/test-postgres";
import { afterAll, describe, expect, it } from "vitest";
import {
  flat,
  migration,
  removeTempDirs,
  runCli,
  states,
  tableExists,
  tempDir,
} from "./testing/cli.ts";

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
    expect(flat(result.stdout)).toContain(
      "Applied unedited, it is recorded as applied with nothing run (an empty migration), and SQL written into it later never runs: the edit shows as checksum drift.",
    );
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
    ["add billing", "cannot follow a migration's number"],
    ["add..billing", "cannot follow a migration's number"],
    ["../add_billing", "cannot follow a migration's number"],
    ["009_add_billing", "Give the name without a number"],
    ["20240101120000-create-users-table", 'Give the name without a number ("create-users-table")'],
  ])("refuses %j with exit 2", async (name, message) => {
    const dir = tempDir();

    const result = await newMigration(dir, name);

    expect(result.code).toBe(2);
    expect(flat(result.stderr)).toContain(message);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("takes any name the loader takes, and numbers past dbmate's file names too", async () => {
    const dir = tempDir({
      "20240101120000_create-users-table.sql": migration("select 1;"),
      "20240102000000.sql": migration("select 2;"),
    });

    expect((await newMigration(dir, "Add-Billing.v2")).code).toBe(0);

    expect(readdirSync(dir)).toContain("20240102000001_Add-Billing.v2.sql");
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

  it("makes a file that loads as it is: applied unedited it is an empty migration, and SQL written later is drift", async () => {
    const database = await createTestDatabase("cli_new");
    try {
      const dir = tempDir();
      const cli = (...args: string[]) =>
        runCli([...args, "--migrations-dir", dir], { env: { DATABASE_URL: database.url } });
      expect((await cli("new", "add_billing_plans")).code).toBe(0);

      // It loads (no problem), and applying it records it applied with nothing run.
      const status = await cli("status", "--json");
      expect(status.code).toBe(0);
      const apply = await cli("apply", "--json");
      expect(apply.code).toBe(0);
      expect(JSON.parse(apply.stdout).result.results).toMatchObject([
        { migrationName: "001_add_billing_plans", status: "applied" },
      ]);
      expect(await states(database.url)).toEqual({ "001_add_billing_plans": "applied" });

      // What the message warns of: SQL written into it now never runs; it is drift.
      const path = join(dir, "001_add_billing_plans.sql");
      writeFileSync(path, "-- migrate:up\ncreate table plans (id int);\n-- migrate:down\n");
      expect((await cli("apply")).code).toBe(1);
      const drift = await cli("status");
      expect(drift.code).toBe(1);
      expect(flat(drift.stdout)).toContain("001_add_billing_plans changed on disk");
      expect(await tableExists(database.url, "plans")).toBe(false);
    } finally {
      await database.drop();
    }
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
