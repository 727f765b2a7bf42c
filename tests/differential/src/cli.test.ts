/**
 * The same corpus through the `studio-migrate` command in direct mode (what a deploy pipeline
 * runs), against dbmate on classic-app: apply; `rollback <name> --mark-only` of the migration with
 * an empty down section; `rollback --steps 2`; `rollback --to <first>`; `rollback <first>`, which
 * leaves nothing applied; apply again. Equal after each.
 */
import { afterAll, beforeAll, describe } from "vitest";
import { studioMigrateOk } from "./support/cli.ts";
import { chooseComparison } from "./support/compare.ts";
import { expectParity } from "./support/corpus-case.ts";
import { type Database, dropDatabases, freshDatabase } from "./support/database.ts";
import { dbmateMigrate, dbmateRollback } from "./support/dbmate.ts";
import { corpusDir } from "./support/paths.ts";
import { stages } from "./support/stages.ts";

const comparison = await chooseComparison();
console.log(`[differential] studio-migrate: comparing with ${comparison.label}`);

afterAll(dropDatabases);

describe(`studio-migrate (direct mode) and dbmate on classic-app (compared by ${comparison.method})`, () => {
  const dir = corpusDir("classic-app");
  let dbmateDb: Database;
  let cliDb: Database;
  const stage = stages();

  beforeAll(async () => {
    [dbmateDb, cliDb] = await Promise.all([freshDatabase("dbmate"), freshDatabase("cli")]);
  });

  /** The CLI's command and dbmate rolling back `dbmateSteps`, side by side, then compared. */
  async function rollback(args: string[], dbmateSteps: number) {
    await Promise.all([
      dbmateRollback(dir, dbmateDb.url, dbmateSteps),
      studioMigrateOk(["rollback", ...args], cliDb.url, dir),
    ]);
    await expectParity(dbmateDb, cliDb, dir, `after studio-migrate rollback ${args.join(" ")}`);
  }

  stage("apply", async () => {
    await Promise.all([
      dbmateMigrate(dir, dbmateDb.url),
      studioMigrateOk(["apply"], cliDb.url, dir),
    ]);
    await expectParity(dbmateDb, cliDb, dir, "after studio-migrate apply");
  });

  // 010 has an empty down section: marked rolled back (SPEC §4), as dbmate runs nothing.
  stage("rollback 010_legacy_import_log --mark-only", () =>
    rollback(["010_legacy_import_log", "--mark-only"], 1),
  );

  stage("rollback --steps 2 (SPEC §8)", () => rollback(["--steps", "2"], 2));

  stage("rollback --to 001_create_accounts (SPEC §8)", () =>
    rollback(["--to", "001_create_accounts"], 6),
  );

  stage("rollback 001_create_accounts: nothing left applied", () =>
    rollback(["001_create_accounts"], 1),
  );

  stage("apply again", async () => {
    await Promise.all([
      dbmateMigrate(dir, dbmateDb.url),
      studioMigrateOk(["apply"], cliDb.url, dir),
    ]);
    await expectParity(dbmateDb, cliDb, dir, "after studio-migrate apply again");
  });
});
