/**
 * Files dbmate reads differently from how they look: marker-like lines that are not at the start
 * of a line (indented, or behind a byte-order mark). SPEC §2: such a line is a load error naming
 * the file and line, never silently SQL; nothing is applied. What dbmate does with the same
 * directory is asserted and printed.
 */
import { join } from "node:path";
import { directorySource } from "@studio/migrations-core";
import { query } from "@studio/test-postgres";
import { afterAll, describe, expect, it } from "vitest";
import { dropDatabases, freshDatabase, relationExists } from "./support/database.ts";
import { dbmate, dbmateVersions } from "./support/dbmate.ts";
import { ACTOR, withEngine } from "./support/engine.ts";
import { corpusDir } from "./support/paths.ts";

afterAll(dropDatabases);

/** The engine's refusal of `dir`: the error of a plain apply, and what the database holds after. */
async function engineRefusal(dir: string) {
  const db = await freshDatabase("engine");
  const path = corpusDir(dir);
  const loaded = await directorySource(path).load();
  const error = await withEngine(db.url, path, (engine) => engine.apply({ actor: ACTOR })).then(
    (report): Error & { code?: string } =>
      new Error(`applied instead of refusing: ${JSON.stringify(report.results)}`),
    (e: unknown) => e as Error & { code?: string },
  );
  const recorded = (await relationExists(db.url, "platform.schema_migrations"))
    ? await query(db.url, "select migration_name, status from platform.schema_migrations")
    : [];
  return { db, path, loaded, error, recorded };
}

describe.concurrent("edge-indented-down: a tab-indented \\t-- migrate:down", () => {
  it("the engine refuses at load, naming file:line, and applies nothing (not even 001)", async () => {
    const { db, path, loaded, error, recorded } = await engineRefusal("edge-indented-down");
    const file = join(path, "002_create_invoices.sql");
    expect(loaded.problems).toContainEqual(expect.objectContaining({ file, line: 6 }));
    expect(error.code, error.message).toBe("INVALID_MIGRATION_FILE");
    expect(error.message).toContain(`${file}:6`);
    expect(error.message).toContain("migrate:down");
    expect(recorded).toEqual([]);
    expect(await relationExists(db.url, "public.customers")).toBe(false);
    expect(await relationExists(db.url, "public.invoices")).toBe(false);
    console.log(`[differential] edge-indented-down: the engine refuses: ${error.message}`);
  });

  it("dbmate applies 001, then refuses 002 when it reaches it: no down marker at a line start", async () => {
    const db = await freshDatabase("dbmate");
    const run = await dbmate("migrate", corpusDir("edge-indented-down"), db.url);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain(
      "dbmate requires each migration to define a down block with '-- migrate:down'",
    );
    expect(await dbmateVersions(db.url)).toEqual(["001"]);
    expect(await relationExists(db.url, "public.customers")).toBe(true);
    expect(await relationExists(db.url, "public.invoices")).toBe(false);
    console.log(
      `[differential] edge-indented-down: dbmate applies 001, then: ${run.output.trim().split("\n").at(-1)}`,
    );
  });
});

describe.concurrent("edge-marker-like: an indented '  -- migrate:up' inside the up section", () => {
  it("the engine refuses at load, naming file:line, and applies nothing", async () => {
    const { db, path, loaded, error, recorded } = await engineRefusal("edge-marker-like");
    const file = join(path, "001_create_tags.sql");
    expect(loaded.problems).toContainEqual(expect.objectContaining({ file, line: 6 }));
    expect(error.code, error.message).toBe("INVALID_MIGRATION_FILE");
    expect(error.message).toContain(`${file}:6`);
    expect(error.message).toContain("migrate:up");
    expect(recorded).toEqual([]);
    expect(await relationExists(db.url, "public.tags")).toBe(false);
    console.log(`[differential] edge-marker-like: the engine refuses: ${error.message}`);
  });

  it("dbmate runs the line as a comment and applies the file", async () => {
    const db = await freshDatabase("dbmate");
    const run = await dbmate("migrate", corpusDir("edge-marker-like"), db.url);
    expect(run.code, run.output).toBe(0);
    expect(await dbmateVersions(db.url)).toEqual(["001"]);
    expect(await query(db.url, "select id, label from tags")).toEqual([{ id: 1, label: "first" }]);
    console.log(
      "[differential] edge-marker-like: dbmate applies 001_create_tags (the line is SQL to it)",
    );
  });
});

describe.concurrent("edge-utf8-bom: a file that starts with a UTF-8 byte-order mark", () => {
  // The BOM stands before "-- migrate:up", so that line does not start with the marker: dbmate
  // finds no up marker and refuses the file. SPEC §2: the engine does what dbmate does or refuses
  // at load naming the file and line; applying it (after dropping the BOM) is neither.
  it("the engine refuses at load, naming file:1, and applies nothing", async () => {
    const { db, path, error, recorded } = await engineRefusal("edge-utf8-bom");
    const file = join(path, "001_create_vendors.sql");
    expect(error.code, error.message).toBe("INVALID_MIGRATION_FILE");
    expect(error.message).toContain(`${file}:1`);
    expect(recorded).toEqual([]);
    expect(await relationExists(db.url, "public.vendors")).toBe(false);
  });

  it("dbmate refuses it: no up marker at the start of a line", async () => {
    const db = await freshDatabase("dbmate");
    const run = await dbmate("migrate", corpusDir("edge-utf8-bom"), db.url);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain(
      "dbmate requires each migration to define an up block with '-- migrate:up'",
    );
    expect(await relationExists(db.url, "public.vendors")).toBe(false);
  });
});
