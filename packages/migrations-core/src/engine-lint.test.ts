import { describe, expect, it } from "vitest";
import { createMigrationEngine } from "./engine.ts";
import {
  InvalidInputError,
  LintRefusedError,
  MigrationNotFoundError,
  UnsupportedError,
} from "./errors.ts";
import type { Executor } from "./executor.ts";
import type { LintFinding, MigrationLinter, MigrationLintOptions } from "./lint.ts";
import type { Migration } from "./migration.ts";
import { loadMigrationTexts, type MigrationText } from "./sources.ts";
import { splitSqlStatements } from "./sql-statements.ts";
import { createMemoryDatabase, MemoryExecutor } from "./testing/memory-executor.ts";

const ACTOR = "test:lint";

/**
 * A one-rule lint with the real one's contract (the real one is `@studio/migrations-lint`, which
 * depends on this package and is exercised with the engine by the router's and the CLI's tests):
 * `CREATE INDEX` without CONCURRENTLY is an error on the table it names, carrying its size.
 * It keeps what it was given, so that the engine's part can be checked.
 */
function indexLinter() {
  const calls: { migrations: string[]; options: MigrationLintOptions | undefined }[] = [];
  const indexes = (migration: Migration) =>
    splitSqlStatements(migration.up).flatMap((statement) => {
      const match = /^create\s+index\s+(?!concurrently)\S+\s+on\s+([a-z_.]+)/i.exec(statement.text);
      return match ? [{ statement, table: (match[1] as string).toLowerCase() }] : [];
    });
  const linter: MigrationLinter = {
    relationsToSize: (migrations) => [
      ...new Set(migrations.flatMap((migration) => indexes(migration).map((i) => i.table))),
    ],
    lint: (migrations, options) => {
      calls.push({ migrations: migrations.map((m) => m.name), options });
      const findings: LintFinding[] = migrations.flatMap((migration) =>
        indexes(migration).map(({ statement, table }) => {
          const size = options?.sizes?.find((s) => s.name === table && s.exists) ?? null;
          return {
            rule: "index-not-concurrent",
            level: "error" as const,
            migration: migration.name,
            source: migration.source,
            line: migration.upLine + statement.line - 1,
            statement: statement.text,
            inDoBlock: false,
            lock: "SHARE" as const,
            relation: size?.relation ?? table,
            size,
            blockedBy: size?.lockHolders ?? [],
            message: `builds an index on ${table} while writes wait`,
            fix: "CREATE INDEX CONCURRENTLY in a transaction:false migration",
          };
        }),
      );
      return {
        findings,
        ignored: [],
        errors: findings.length,
        warnings: 0,
        infos: 0,
        migrations: migrations.map((m) => m.name),
        live: options?.sizes !== undefined,
      };
    },
  };
  return { linter, calls };
}

const users: MigrationText = {
  name: "001_users",
  sql: "-- migrate:up\nCREATE TABLE platform.users (id int);\n",
};
const indexUsers: MigrationText = {
  name: "002_index_users",
  sql: "-- migrate:up\n-- why\n\nCREATE INDEX users_id ON platform.users (id);\n-- migrate:down\nDROP INDEX platform.users_id;\n",
};
const orgs: MigrationText = {
  name: "003_orgs",
  sql: "-- migrate:up\nCREATE TABLE platform.orgs (id int);\n",
};

function setup(texts: MigrationText[], withLinter = true) {
  const database = createMemoryDatabase();
  const executor = new MemoryExecutor({ database });
  const { linter, calls } = indexLinter();
  const engine = createMigrationEngine({
    executor,
    source: { load: async () => loadMigrationTexts(texts) },
    ...(withLinter ? { linter: async () => linter } : {}),
  });
  return { engine, database, executor, calls };
}

describe("lint", () => {
  it("lints the pending migrations with the target's sizes, read through the executor", async () => {
    const { engine, database, calls } = setup([users, indexUsers, orgs]);
    await engine.apply({ actor: ACTOR, upTo: "001_users" });
    database.lockedTables.add("platform.users");

    const report = await engine.lint();

    expect(report.migrations).toEqual(["002_index_users", "003_orgs"]);
    expect(report.live).toBe(true);
    expect(report.findings).toHaveLength(1);
    expect(report.findings[0]).toMatchObject({
      migration: "002_index_users",
      line: 4,
      relation: "platform.users",
      size: { name: "platform.users", exists: true, estimatedRows: 0, totalBytes: 0 },
    });
    expect(report.findings[0]?.blockedBy.map((holder) => holder.mode)).toEqual([
      "ACCESS EXCLUSIVE",
    ]);
    expect(calls[0]?.options?.sizes?.map((size) => size.name)).toEqual(["platform.users"]);
  });

  it("lints the named migrations, applied or not, in version order", async () => {
    const { engine, calls } = setup([users, indexUsers, orgs]);
    await engine.apply({ actor: ACTOR });
    const report = await engine.lint({ migrationNames: ["003_orgs", "001_users"] });
    expect(report.migrations).toEqual(["001_users", "003_orgs"]);
    expect(calls).toHaveLength(1);
  });

  it("refuses a name no file has, and a malformed one, before linting", async () => {
    const { engine, calls } = setup([users]);
    await expect(engine.lint({ migrationNames: ["002_missing"] })).rejects.toBeInstanceOf(
      MigrationNotFoundError,
    );
    await expect(engine.lint({ migrationNames: ["../etc"] })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    expect(calls).toHaveLength(0);
  });

  it("words waits with the run's lock timeout when one is given", async () => {
    const { engine, calls } = setup([indexUsers]);
    await engine.lint({ timeouts: { lockTimeoutMs: 250 } });
    expect(calls[0]?.options?.lockTimeout).toBe("250ms");
  });

  it("lints without sizes over an executor that cannot read them", async () => {
    const memory = new MemoryExecutor();
    const executor: Executor = {
      kind: "sizeless",
      lockScope: memory.lockScope,
      readState: () => memory.readState(),
      acquireLock: (options) => memory.acquireLock(options),
      applyMigration: (request) => memory.applyMigration(request),
      rollbackMigration: (request) => memory.rollbackMigration(request),
      recordChanges: (changes, actor) => memory.recordChanges(changes, actor),
      readEvents: (query) => memory.readEvents(query),
      readForeignVersions: (source) => memory.readForeignVersions(source),
      close: () => memory.close(),
    };
    const { linter } = indexLinter();
    const engine = createMigrationEngine({
      executor,
      source: { load: async () => loadMigrationTexts([indexUsers]) },
      linter: async () => linter,
    });
    const report = await engine.lint();
    expect(report.live).toBe(false);
    expect(report.findings[0]?.size).toBeNull();
  });

  it("is refused as unsupported without a linter", async () => {
    const { engine } = setup([users], false);
    await expect(engine.lint()).rejects.toBeInstanceOf(UnsupportedError);
    await expect(engine.apply({ actor: ACTOR, strict: true })).rejects.toMatchObject({
      code: "UNSUPPORTED",
    });
  });
});

describe("strict apply", () => {
  it("refuses before anything runs when the lint finds an error, carrying the findings", async () => {
    const { engine, database } = setup([users, indexUsers, orgs]);
    const refused = await engine.apply({ actor: ACTOR, strict: true }).catch((e: unknown) => e);

    expect(refused).toBeInstanceOf(LintRefusedError);
    const report = (refused as LintRefusedError).report;
    expect(report.errors).toBe(1);
    expect(report.findings[0]).toMatchObject({ migration: "002_index_users", line: 4 });
    expect((refused as LintRefusedError).message).toMatch(
      /1 error-level finding .*index-not-concurrent in 002_index_users:4.*nothing was applied/,
    );
    expect(database.records.size).toBe(0);
    expect(database.events).toEqual([]);
    expect(database.tables.size).toBe(0);
  });

  it("refuses a dry run likewise", async () => {
    const { engine } = setup([users, indexUsers]);
    await expect(engine.apply({ actor: ACTOR, strict: true, dryRun: true })).rejects.toBeInstanceOf(
      LintRefusedError,
    );
  });

  it("applies what lints clean, and lints only what the run would apply", async () => {
    const { engine, database, calls } = setup([users, indexUsers, orgs]);
    const report = await engine.apply({ actor: ACTOR, strict: true, upTo: "001_users" });
    expect(report.results.map((r) => [r.migrationName, r.status])).toEqual([
      ["001_users", "applied"],
    ]);
    expect(calls.map((call) => call.migrations)).toEqual([["001_users"]]);
    expect([...database.tables]).toEqual(["platform.users"]);
  });
});
