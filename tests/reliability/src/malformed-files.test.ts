import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TestDatabase } from "@studio/test-postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StudioProcess } from "../../../apps/studio/test/studio-process.ts";
import { describeRun, directArgs, runCli } from "./support/cli.ts";
import { exactlyOnceViolations } from "./support/database.ts";
import { answerProblems, send } from "./support/hostile.ts";
import {
  type MigrationFile,
  migrationSet,
  removeAllDirs,
  writeMigrationsDir,
} from "./support/migrations.ts";
import {
  type DatabaseState,
  databaseState,
  type StudioFixture,
  startStudioFixture,
} from "./support/studio-fixture.ts";
import { Figures } from "./support/summary.ts";

/**
 * Malformed migration files dropped into a live Studio's `migrations/` (read afresh for every
 * request): each is a clear load error naming the file — in `list`, in the refusal of `apply`,
 * and in the CLI — while `list` keeps answering with everything else, and nothing runs.
 */

const SECRET = "malformed-files-secret-3e8b";
const figures = new Figures("malformed migration files");

let database: TestDatabase;
let studio: StudioProcess;
let files: MigrationFile[];
let dir: string;
let before: DatabaseState;

let fixture: StudioFixture | undefined;

beforeAll(async () => {
  files = migrationSet();
  dir = writeMigrationsDir(files, "malformed");
  fixture = await startStudioFixture({
    label: "malformed_files",
    dir,
    secret: SECRET,
    appliedUpTo: "006_create_slugify",
  });
  ({ database, studio } = fixture);
  before = await state();
});
afterAll(async () => {
  figures.print();
  await fixture?.stop();
  removeAllDirs();
});

const state = () => databaseState(database.url);

interface Case {
  what: string;
  file: string;
  content: string | Buffer | "directory";
  /** What the load error must say, beside the file's name. */
  says: RegExp;
}

const garbage = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 151 + 7) % 256));

const CASES: Case[] = [
  { what: "empty", file: "013_empty.sql", content: "", says: /empty/ },
  { what: "only blank lines", file: "013_blank.sql", content: "\n \r\n\t\n", says: /empty/ },
  {
    what: "only a down section",
    file: "013_only_down.sql",
    content: "-- migrate:down\ndrop table app.nothing;\n",
    says: /only a down section/,
  },
  {
    what: "empty up section",
    file: "013_empty_up.sql",
    content: "-- migrate:up\n-- nothing yet\n-- migrate:down\ndrop table app.nothing;\n",
    says: /empty up section/,
  },
  {
    what: "unterminated dollar quote",
    file: "013_unterminated_dollar.sql",
    content:
      "-- migrate:up\ncreate function app.f() returns int language plpgsql as $body$\nbegin return 1; end;\n-- migrate:down\ndrop function app.f();\n",
    says: /unterminated|dollar/i,
  },
  {
    what: "unterminated string",
    file: "013_unterminated_string.sql",
    content: "-- migrate:up\ninsert into app.apply_log (migration) values ('013);\n",
    says: /unterminated|quote/i,
  },
  {
    what: "duplicate prefix",
    file: "006_duplicate_prefix.sql",
    content: "-- migrate:up\ncreate table app.duplicate (id int);\n",
    says: /006|duplicate|prefix/i,
  },
  { what: "binary garbage", file: "013_binary.sql", content: garbage, says: /UTF-8/ },
  {
    what: "NUL bytes",
    file: "013_nul.sql",
    content: "-- migrate:up\nselect 1;\u0000\n",
    says: /NUL/,
  },
  {
    what: "unknown marker",
    file: "013_sideways.sql",
    content: "-- migrate:sideways\nselect 1;\n",
    says: /unknown marker/,
  },
  {
    what: "unknown marker option",
    file: "013_option.sql",
    content: "-- migrate:up transaction:maybe\nselect 1;\n",
    says: /unknown option/,
  },
  {
    what: "SQL before the up marker",
    file: "013_stray.sql",
    content: "drop schema app cascade;\n-- migrate:up\nselect 1;\n",
    says: /before/,
  },
  {
    what: "two up markers",
    file: "013_two_ups.sql",
    content: "-- migrate:up\nselect 1;\n-- migrate:up\nselect 2;\n",
    says: /second/,
  },
  { what: "misnamed (upper case)", file: "013_Bad_Name.sql", content: "select 1;\n", says: /name/ },
  {
    what: "misnamed (full-width digits)",
    file: "０１３_wide.sql",
    content: "select 1;\n",
    says: /name/,
  },
  { what: "misnamed (no prefix)", file: "create_things.sql", content: "select 1;\n", says: /name/ },
  {
    what: "a directory",
    file: "013_directory.sql",
    content: "directory",
    says: /read|directory|EISDIR/i,
  },
];

function place(c: Case): string {
  const path = join(dir, c.file);
  if (c.content === "directory") mkdirSync(path);
  else writeFileSync(path, c.content);
  return path;
}

interface ListBody {
  applied: { migration_name: string }[];
  pending: { migration_name: string }[];
  problems: { kind: string; migration_name: string | null; message: string; blocking: boolean }[];
}

const headers = { "x-migration-secret": SECRET, "content-type": "application/json" };

describe("malformed files in a live Studio's migrations/", () => {
  for (const c of CASES) {
    it(`${c.what} (${c.file}): a load error naming the file; list still serves; nothing runs`, async () => {
      const path = place(c);
      try {
        // list: 200, everything else still listed, and a problem naming the file.
        const list = await send(`${studio.url}/api/platform/migrations`, { headers });
        expect(answerProblems(list, { expected: [200] })).toEqual([]);
        const body = list.body as ListBody;
        expect(body.applied.map((m) => m.migration_name)).toEqual(
          files.slice(0, 6).map((f) => f.name),
        );
        const named = body.problems.filter((p) => p.message.includes(c.file));
        expect(named, JSON.stringify(body.problems)).not.toHaveLength(0);
        expect(named.map((p) => p.message).join("\n")).toMatch(c.says);

        // tRPC list too.
        const trpc = await send(`${studio.url}/api/trpc/migrations.list`, { headers });
        expect(answerProblems(trpc, { expected: [200] })).toEqual([]);
        expect(trpc.text).toContain(JSON.stringify(c.file).slice(1, -1));

        // apply is refused, naming the file, and runs nothing.
        const apply = await send(`${studio.url}/api/platform/migrations/apply`, {
          method: "POST",
          headers,
          body: "{}",
        });
        expect(answerProblems(apply, { expected: [409] })).toEqual([]);
        expect(apply.text).toContain(JSON.stringify(c.file).slice(1, -1));

        // The CLI says the same, directly.
        const status = await runCli(directArgs(["status"], database.url, dir));
        expect(status.code, describeRun(status)).toBe(1);
        expect(status.stdout + status.stderr).toContain(c.file);
        const cliApply = await runCli(directArgs(["apply"], database.url, dir));
        expect(cliApply.code, describeRun(cliApply)).not.toBe(0);
        // The --json document names it in error.details, one line per file.
        expect(cliApply.json?.error?.code, describeRun(cliApply)).toBe("INVALID_MIGRATION_FILE");
        expect(JSON.stringify(cliApply.json?.error), describeRun(cliApply)).toContain(c.file);
        expect(cliApply.stderr).toContain(c.file);
        expect(cliApply.stderr).not.toMatch(/\n\s+at /);

        expect(await state()).toEqual(before);
        figures.add("malformed files");
        figures.add("refusals checked", 5);
      } finally {
        rmSync(path, { recursive: true, force: true });
      }
      const clean = await send(`${studio.url}/api/platform/migrations`, { headers });
      expect((clean.body as ListBody).problems).toEqual([]);
    });
  }

  it("several malformed files at once are each named; removing them, everything applies once", async () => {
    const paths = CASES.slice(0, 6).map(place);
    try {
      const list = await send(`${studio.url}/api/platform/migrations`, { headers });
      expect(list.status).toBe(200);
      for (const c of CASES.slice(0, 6)) expect(list.text).toContain(c.file);
      expect(await state()).toEqual(before);
    } finally {
      for (const path of paths) rmSync(path, { recursive: true, force: true });
    }
    const apply = await send(`${studio.url}/api/platform/migrations/apply`, {
      method: "POST",
      headers,
      body: "{}",
    });
    expect(answerProblems(apply, { expected: [200] })).toEqual([]);
    expect(await exactlyOnceViolations(database.url, files)).toEqual([]);
    figures.add("migrations lost", 0);
  });

  it("Studio logged no stack trace", () => {
    expect(studio.output()).not.toMatch(/\n\s+at /);
    expect(studio.output()).not.toContain(SECRET);
  });
});
