import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { flat, runCli } from "./testing/cli.ts";
import { PACKAGE_ROOT } from "./testing/paths.ts";

const DATABASE = { DATABASE_URL: "postgres://nobody@127.0.0.1:1/never-reached" };

describe("usage errors exit 2, with a short usage hint on stderr, and attempt nothing", () => {
  it.each([
    [["frobnicate"], 'Unknown command "frobnicate".'],
    [[], "No command given."],
    [["status", "--frobnicate"], 'Unknown option "--frobnicate".'],
    [["apply", "--mark-only"], "apply does not take --mark-only."],
    [["apply", "--to"], "--to needs a value."],
    [["apply", "001_a", "--to", "002_b"], "Give a name (exactly that migration) or --to"],
    [["apply", "add_users"], '"add_users" is not a migration name'],
    [
      ["rollback"],
      "rollback needs the name of the migration to roll back, or --to <name> (everything applied after it), or --steps n (the newest n).",
    ],
    [["rollback", "001_a", "002_b"], 'Unexpected argument "002_b".'],
    [["rollback", "001_a", "--to", "000_x"], "Give one of a name (exactly that migration), --to"],
    [["rollback", "--to", "000_x", "--steps", "1"], "Give one of a name (exactly that migration)"],
    [["rollback", "--steps", "0"], '--steps must be a whole number of at least 1 (got "0").'],
    [["rollback", "--steps", "-1"], "--steps needs a value."],
    [["rollback", "--steps", "two"], '--steps must be a whole number of at least 1 (got "two").'],
    [["rollback", "--to", "not a name"], '--to "not a name" is not a migration name'],
    [["adopt"], "adopt needs --from dbmate or --from supabase"],
    [["adopt", "--from", "flyway"], '--from must be dbmate or supabase (got "flyway").'],
    [["adopt", "--from", "dbmate", "--table", "x; drop"], '--table "x; drop" is not a table name'],
    [["adopt", "--from", "dbmate", "--dry-run"], "adopt does not take --dry-run."],
    [["adopt", "--from", "dbmate", "extra"], 'Unexpected argument "extra".'],
    [["baseline"], "baseline needs --to <name>"],
    [
      ["resolve", "001_a"],
      "resolve needs exactly one of --applied, --rolled-back or --accept-checksum.",
    ],
    [
      ["resolve", "001_a", "--applied", "--rolled-back"],
      "resolve needs exactly one of --applied, --rolled-back or --accept-checksum (got --applied and --rolled-back).",
    ],
    [["history", "--limit", "0"], "--limit must be a whole number from 1 to 500"],
    [["history", "--cursor", "abc"], "--cursor must be the next cursor a previous page printed"],
    [
      ["history", "--cursor", "9223372036854775808"],
      '--cursor must be the next cursor a previous page printed: a whole number from 1 to 9223372036854775807 (got "9223372036854775808").',
    ],
    [["aply"], 'Unknown command "aply". Did you mean apply?'],
    [["stauts"], 'Unknown command "stauts". Did you mean status?'],
    [["rollbak", "001_a"], 'Unknown command "rollbak". Did you mean rollback?'],
    [["xyzzy"], 'Unknown command "xyzzy".'],
    [["apply", "--dry-rn"], 'Unknown option "--dry-rn". Did you mean --dry-run?'],
    [
      ["apply", "--lock-timout", "5"],
      'Unknown option "--lock-timout". Did you mean --lock-timeout?',
    ],
    [
      ["status", "--database-url", "not-a-url"],
      '--database-url must be a postgres:// URL, e.g. postgres://user@db.internal:5432/platform (got "not-a-url").',
    ],
    [
      ["status", "--database-url", "https://studio.example"],
      "--database-url must be a postgres:// URL, e.g. postgres://user@db.internal:5432/platform; https:// is a Studio's, given with --url.",
    ],
    [
      ["status", "--url", "studio.example"],
      '--url must be Studio\'s http:// or https:// base URL, e.g. https://studio.example (got "studio.example": did you mean https://studio.example?).',
    ],
    [
      ["status", "--url", "postgres://db/platform"],
      "--url must be Studio's http:// or https:// base URL, e.g. https://studio.example, not a database URL: give the database itself with --database-url.",
    ],
    [["status", "--timeout", "5"], "--timeout is only for --url"],
    [
      ["status", "--url", "http://x", "--timeout", "0"],
      "--timeout must be a number of seconds above 0",
    ],
    [
      ["status", "--url", "http://x", "--timeout", "soon"],
      '--timeout must be a number of seconds above 0 and at most 86400, e.g. 15 or 2.5 (got "soon").',
    ],
    [["status", "--lock-timeout", "5"], "status does not take --lock-timeout."],
    [
      ["apply", "--lock-timeout", "600001"],
      "--lock-timeout must be a whole number of milliseconds from 1 to 600000",
    ],
    [
      ["rollback", "--steps", "1", "--statement-timeout", "1.5"],
      "--statement-timeout must be a whole number of milliseconds",
    ],
    [["status", "--secret", "s"], "--secret is only for --url"],
    [["status", "--url", "ftp://studio"], "--url must be Studio's http:// or https:// base URL"],
    [
      ["status", "--url", "http://x", "--migrations-dir", "m"],
      "--migrations-dir does not apply with --url",
    ],
    [["new"], "new needs a name for the migration"],
  ])("%j", async (args, message) => {
    const result = await runCli(args, { env: DATABASE });

    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(flat(result.stderr)).toContain(`error: ${message}`);
    expect(result.stderr).toMatch(/Usage:/);
    expect(result.stderr).toMatch(/--help/);
  });

  it("names the two ways to point it at a target when there is none", async () => {
    const result = await runCli(["status"]);

    expect(result.code).toBe(2);
    expect(flat(result.stderr)).toContain("No target.");
    expect(flat(result.stderr)).toContain("--url <studio url>");
    expect(flat(result.stderr)).toContain("--database-url <postgres url> or DATABASE_URL");
  });

  it("answers with a JSON document under --json", async () => {
    const result = await runCli(["rollback", "--json"], { env: DATABASE });

    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toMatchObject({
      ok: false,
      command: "rollback",
      error: {
        code: "USAGE",
        message:
          "rollback needs the name of the migration to roll back, or --to <name> (everything applied after it), or --steps n (the newest n).",
      },
    });
    expect(result.stderr).toContain("error:");
  });
});

describe("help", () => {
  it("explains the tool, its targets, commands, environment, exit codes and the deploy hook", async () => {
    const result = await runCli(["--help"]);

    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    for (const text of [
      "Usage: studio-migrate <command> [options]",
      "--url <studio url>",
      "--database-url <url>",
      "status",
      "apply [name]",
      "rollback <name>",
      "baseline --to <name>",
      "resolve <name> --applied | --rolled-back | --accept-checksum",
      "history",
      "new <name>",
      "rollback --to <name>",
      "rollback --steps n",
      "adopt --from dbmate|supabase [--table t]",
      "DATABASE_URL",
      "MIGRATION_SECRET",
      "MIGRATIONS_DIR",
      "Exit codes:",
      "2  Usage error",
      'npx studio-migrate apply --url "$STUDIO_URL"',
    ]) {
      expect(result.stdout).toContain(text);
    }
    for (const line of result.stdout.split("\n")) expect(line.length).toBeLessThanOrEqual(80);
  });

  it.each(["status", "apply", "rollback", "baseline", "resolve", "history", "new", "adopt"])(
    "has help for %s, as `help %s` and `%s --help`, in 80 columns",
    async (command) => {
      const viaHelp = await runCli(["help", command]);
      const viaFlag = await runCli([command, "-h"]);

      expect(viaHelp.code).toBe(0);
      expect(viaFlag.stdout).toBe(viaHelp.stdout);
      expect(viaHelp.stdout).toContain(`studio-migrate ${command}`);
      expect(viaHelp.stdout).toContain("Example");
      expect(viaHelp.stdout).toContain("Exit codes:");
      for (const line of viaHelp.stdout.split("\n")) expect(line.length).toBeLessThanOrEqual(80);
    },
  );

  it("prints the version", async () => {
    const { version } = JSON.parse(readFileSync(join(PACKAGE_ROOT, "package.json"), "utf8"));

    const result = await runCli(["--version"]);

    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`studio-migrate ${version}\n`);
  });
});
