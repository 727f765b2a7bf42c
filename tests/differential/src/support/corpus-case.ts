/**
 * The differential scenario for one corpus directory: applied, rolled back (several steps, then
 * all the way) and applied again by dbmate and by the engine, each into a database of its own.
 * After every stage the two databases must be equal, bookkeeping excluded, and must have recorded
 * the same versions. Each directory is a `describe.concurrent` of sequential stages: directories
 * run side by side, the stages of one in order.
 */
import { beforeAll, describe, expect } from "vitest";
import { type Comparison, expectSame, snapshot } from "./compare.ts";
import { type Database, freshDatabase } from "./database.ts";
import { dbmateMigrate, dbmateRollback, dbmateVersions } from "./dbmate.ts";
import { engineApplied, engineApplyAll, engineRollback, requireAllApplied } from "./engine.ts";
import { corpusDir } from "./paths.ts";
import { sqlFiles, stages, versionOf } from "./stages.ts";

/** Both databases equal (bookkeeping excluded), and the same versions recorded as applied. */
export async function expectParity(
  dbmateDb: Database,
  engineDb: Database,
  dir: string,
  what: string,
  engineVersions: (url: string, dir: string) => Promise<string[]> = engineApplied,
): Promise<void> {
  const [a, b, versions, applied] = await Promise.all([
    snapshot(dbmateDb.url, "dbmate"),
    snapshot(engineDb.url, "engine"),
    dbmateVersions(dbmateDb.url),
    engineVersions(engineDb.url, dir),
  ]);
  expect(applied.map(versionOf), `${what}: recorded versions`).toEqual(versions);
  expectSame(a, b, `${what} (dbmate, then engine)`);
}

export interface CaseContext {
  path: string;
  stage: ReturnType<typeof stages>;
  dbmateDb(): Database;
  engineDb(): Database;
}

/**
 * @param steps how many of the newest migrations the "several steps" rollback undoes
 * @param afterApply stages of this directory's own, run right after the first apply
 */
export function describeCorpusCase(
  dir: string,
  steps: number,
  comparison: Comparison,
  afterApply: (context: CaseContext) => void = () => {},
): void {
  describe.concurrent(`${dir}: dbmate and the engine end equal (compared by ${comparison.method})`, () => {
    const path = corpusDir(dir);
    const files = sqlFiles(path);
    let dbmateDb: Database;
    let engineDb: Database;
    const stage = stages();

    beforeAll(async () => {
      [dbmateDb, engineDb] = await Promise.all([freshDatabase("dbmate"), freshDatabase("engine")]);
    });

    stage(`applies all ${files.length} migrations`, async () => {
      const [, report] = await Promise.all([
        dbmateMigrate(path, dbmateDb.url),
        engineApplyAll(engineDb.url, path),
      ]);
      requireAllApplied(report, files.length);
      await expectParity(dbmateDb, engineDb, path, "after apply");
    });

    afterApply({ path, stage, dbmateDb: () => dbmateDb, engineDb: () => engineDb });

    stage(`rolls back the newest ${steps}`, async () => {
      await Promise.all([
        dbmateRollback(path, dbmateDb.url, steps),
        engineRollback(engineDb.url, path, steps),
      ]);
      await expectParity(dbmateDb, engineDb, path, `after rolling back ${steps}`);
    });

    stage("rolls back all the way", async () => {
      const left = (await dbmateVersions(dbmateDb.url)).length;
      await Promise.all([
        dbmateRollback(path, dbmateDb.url, left),
        engineRollback(engineDb.url, path, "all"),
      ]);
      expect(await dbmateVersions(dbmateDb.url)).toEqual([]);
      await expectParity(dbmateDb, engineDb, path, "after rolling back all");
    });

    stage("applies everything again", async () => {
      const [, report] = await Promise.all([
        dbmateMigrate(path, dbmateDb.url),
        engineApplyAll(engineDb.url, path),
      ]);
      requireAllApplied(report, files.length);
      await expectParity(dbmateDb, engineDb, path, "after applying again");
    });
  });
}
