import { fileURLToPath } from "node:url";
import { directorySource, type Migration } from "@studio/migrations-core";
import { parseRelationSizes, relationSizesSql } from "@studio/migrations-postgres";
import { createTestDatabase, type TestDatabase } from "@studio/test-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Linter, type LintReport, loadLinter } from "./index.ts";

// The repository's own migrations/ — 008 written with every care a live table needs — must lint
// clean: a finding there would be the linter's mistake, not the migration's.

const MIGRATIONS_DIR = fileURLToPath(new URL("../../../migrations/", import.meta.url));

let linter: Linter;
let all: readonly Migration[];
const named = (name: string) => {
  const migration = all.find((m) => m.name.startsWith(name));
  if (migration === undefined) throw new Error(`no migration ${name}`);
  return migration;
};

beforeAll(async () => {
  linter = await loadLinter();
  const loaded = await directorySource(MIGRATIONS_DIR).load();
  expect(loaded.problems).toEqual([]);
  all = loaded.migrations;
});

describe("the migrations in migrations/", () => {
  it("lint clean all together, as on a fresh database, with nothing to ignore", () => {
    expect(all.map((m) => m.name.slice(0, 3))).toEqual([
      "000",
      "001",
      "002",
      "003",
      "004",
      "005",
      "006",
      "007",
      "008",
    ]);
    const report = linter.lint(all);
    expect(report.findings).toEqual([]);
    expect(report.ignored).toEqual([]);
  });

  it("lint clean each on its own, as when it is the only one pending (its tables assumed live)", () => {
    for (const migration of all) {
      expect(linter.lint([migration]).findings, migration.name).toEqual([]);
    }
  });

  it("008: the linter sees inside its DO blocks, and finds each statement safe there", () => {
    // Made unsafe one way at a time, the same file is caught: the rules do reach these statements.
    const m008 = named("008");
    const variants: [string, string, string][] = [
      ["          not valid;", "          ;", "foreign-key-not-valid"],
      [
        "add column if not exists active_org_id uuid;",
        "add column if not exists active_org_id uuid default gen_random_uuid();",
        "add-column-volatile-default",
      ],
      [
        "create index concurrently if not exists",
        "create index if not exists",
        "index-not-concurrent",
      ],
    ];
    for (const [from, to, rule] of variants) {
      expect(m008.up.includes(from), from).toBe(true);
      const changed = { ...m008, up: m008.up.replace(from, to) };
      expect(
        linter.lint([changed]).findings.map((f) => f.rule),
        rule,
      ).toEqual([rule]);
    }
  });
});

describe("the migrations in migrations/ against a live target", () => {
  let database: TestDatabase;
  let client: pg.Client;

  const lintLive = async (migrations: readonly Migration[]): Promise<LintReport> => {
    const names = linter.relationsToSize(migrations);
    const sizes = parseRelationSizes((await client.query(relationSizesSql(names))).rows);
    return linter.lint(migrations, { sizes });
  };
  const apply = async (migration: Migration) => {
    await client.query("begin");
    await client.query(migration.up);
    await client.query("commit");
  };

  beforeAll(async () => {
    database = await createTestDatabase("lint_platform");
    client = new pg.Client({ connectionString: database.url });
    await client.connect();
    // What the engine's bootstrap leaves before anything is applied: the tracking tables (000's SQL).
    await apply(named("000"));
  });
  afterAll(async () => {
    await client?.end();
    await database?.drop();
  });

  it("000–008 pending on a database with only the tracking tables lint clean", async () => {
    const report = await lintLive(all);
    expect(report.live).toBe(true);
    expect(report.findings).toEqual([]);
    expect(report.ignored).toEqual([]);
  });

  describe("with 001–007 applied and the platform populated", () => {
    beforeAll(async () => {
      for (const migration of all.slice(1, 8)) await apply(migration);
      await client.query(`
        insert into platform.organizations (slug, name) select 'org-' || g, 'Org ' || g from generate_series(1, 500) g;
        insert into platform.users (email) select 'user' || g || '@example.com' from generate_series(1, 50000) g;
        insert into platform.organization_members (organization_id, user_id)
          select o.id, u.id from platform.users u
          join platform.organizations o on o.slug = 'org-' || (1 + abs(hashtext(u.email)) % 500)
          where u.email not like '%3@example.com';
        analyze platform.organizations, platform.users, platform.organization_members;
      `);
    });

    it("008 lints clean, having asked the target about platform.users", async () => {
      const m008 = named("008");
      expect(linter.relationsToSize([m008])).toEqual(
        expect.arrayContaining(["platform.users", "platform.organizations"]),
      );
      const report = await lintLive([m008]);
      expect(report.findings).toEqual([]);
    });

    it("008 with a writer holding ROW EXCLUSIVE on platform.users: its two stronger requests would wait, bounded by its 200ms lock_timeout", async () => {
      const writer = new pg.Client({ connectionString: database.url, application_name: "api" });
      await writer.connect();
      try {
        await writer.query("begin");
        await writer.query(
          "update platform.users set display_name = display_name where email = 'user1@example.com'",
        );
        const report = await lintLive([named("008")]);
        const { rows } = await client.query<{ reltuples: number; total: string }>(
          "select reltuples::float8 as reltuples, pg_total_relation_size(oid)::text as total from pg_class where oid = 'platform.users'::regclass",
        );
        // Line 49: ADD COLUMN (ACCESS EXCLUSIVE); line 57: the foreign key NOT VALID (SHARE ROW
        // EXCLUSIVE). The VALIDATE, the backfill's UPDATEs and CREATE INDEX CONCURRENTLY do not
        // conflict with a writer.
        expect(report.findings.map((f) => [f.rule, f.line, f.lock, f.inDoBlock])).toEqual([
          ["lock-wait", 49, "ACCESS EXCLUSIVE", true],
          ["lock-wait", 57, "SHARE ROW EXCLUSIVE", true],
        ]);
        for (const finding of report.findings) {
          expect(finding.size).toMatchObject({
            relation: "platform.users",
            estimatedRows: Math.round(rows[0]?.reltuples ?? -1),
            totalBytes: Number(rows[0]?.total),
          });
          expect(finding.message).toContain("lock_timeout (200ms) bounds the wait");
          expect(finding.blockedBy).toMatchObject([
            { mode: "ROW EXCLUSIVE", applicationName: "api" },
          ]);
        }
      } finally {
        await writer.query("rollback");
        await writer.end();
      }
    });
  });
});
