import { PGlite } from "@electric-sql/pglite";
import { afterEach, describe, expect, it } from "vitest";
import {
  ScratchNotEmptyError,
  ScratchUnavailableError,
  VerifyInputError,
  verifyMigrations,
} from "./index.ts";
import {
  migration,
  migrationsOf,
  openTestScratch,
  SCRATCH_KINDS,
  type TestScratch,
} from "./testing/scratches.ts";

const DROPS_ACCOUNTS = {
  "001_create_accounts": migration(
    "create table if not exists accounts (id int primary key);",
    "drop table accounts;",
  ),
};

describe.each(SCRATCH_KINDS)("a scratch database on %s that is not empty", (kind) => {
  let scratch: TestScratch | undefined;
  afterEach(async () => {
    await scratch?.dispose();
    scratch = undefined;
  });

  it("is refused before anything runs, naming what it holds, and is left as it was", async () => {
    scratch = await openTestScratch(kind);
    await scratch.query(`
      create table accounts (id int primary key);
      insert into accounts values (1), (2);
      create schema billing;
      create table billing.invoices (id int);`);

    const verifying = verifyMigrations({
      migrations: await migrationsOf(DROPS_ACCOUNTS),
      scratch: scratch.options,
    });

    await expect(verifying).rejects.toThrow(ScratchNotEmptyError);
    const error: unknown = await verifying.catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: "SCRATCH_NOT_EMPTY",
      objects: ["schema billing", "table public.accounts"],
      message: expect.stringContaining("it holds schema billing, table public.accounts"),
    });
    expect(await scratch.query("select count(*)::int as rows from accounts")).toEqual([
      { rows: 2 },
    ]);
  });
});

describe("the scratch database's URL", () => {
  it("must be a postgres:// URL, and is never echoed with its password", async () => {
    const verifying = verifyMigrations({
      migrations: [],
      scratch: { url: "mysql://root:hunter2@db/verify" },
    });

    await expect(verifying).rejects.toThrow(VerifyInputError);
    await expect(verifying).rejects.toThrow(
      "The scratch database URL must start with postgres:// or postgresql:// (got mysql://…).",
    );
  });

  it("that cannot be reached is reported as such, with the password hidden", async () => {
    const verifying = verifyMigrations({
      migrations: [],
      scratch: { url: "postgres://postgres:hunter2@127.0.0.1:1/verify" },
    });

    await expect(verifying).rejects.toThrow(ScratchUnavailableError);
    await expect(verifying).rejects.toThrow(
      /^Cannot use the scratch database postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/verify: cannot connect: /,
    );
  });
});

describe("a PGlite database given as the scratch", () => {
  it("is used and left open for the caller", async () => {
    const pglite = await PGlite.create();
    try {
      const report = await verifyMigrations({
        migrations: await migrationsOf(DROPS_ACCOUNTS),
        scratch: { pglite },
      });

      expect(report.results.map((r) => r.result)).toEqual(["inverse"]);
      expect(report.scratch).toBe("the PGlite database given");
      expect(pglite.closed).toBe(false);
      expect(
        (await pglite.query("select to_regclass('accounts') is not null as there")).rows,
      ).toEqual([{ there: true }]);
    } finally {
      await pglite.close();
    }
  });
});
