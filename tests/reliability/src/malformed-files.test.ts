import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TestDatabase } from "@studio/test-postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StudioProcess } from "../../../apps/studio/test/studio-process.ts";
import { applySteps, describeRun, directArgs, runCli } from "./support/cli.ts";
import { catalog, exactlyOnceViolations, tracking } from "./support/database.ts";
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
 * Malformed and unusual migration files dropped into a live Studio's `migrations/` (read afresh
 * for every request), held to SPEC §2 on every face — REST, tRPC and the CLI:
 *
 * - a file that does not load is an error naming the file (and its line, when there is one): `list`
 *   keeps answering with everything else, a plain apply is refused naming it and runs nothing, and
 *   an apply up to an earlier migration still goes on;
 * - a `.sql` file whose name is not a migration name, or a marker option dbmate ignores, is a
 *   non-blocking warning: listed, and applies go on;
 * - a directory (even one named `x.sql`) is ignored, and so is what is inside it;
 * - dbmate's names (upper case, `-`, `.`) load, and an up section of comments only under
 *   `-- migrate:up` is a no-op migration that applies, recorded `applied` with nothing run.
 */

const SECRET = "malformed-files-secret-3e8b7a1c9d24";
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

type Content = string | Buffer | { directory: Record<string, string> };

interface ErrorCase {
  what: string;
  file: string;
  content: Content;
  /** What the load error must say, beside the file's name. */
  says: RegExp;
  /** The line the error names (`file:line`), when it names one. */
  line?: number;
}

const garbage = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 151 + 7) % 256));

/** Files that do not load: each blocks a plain apply, naming the file (and line). */
const ERRORS: ErrorCase[] = [
  { what: "empty", file: "013_empty.sql", content: "", says: /empty/ },
  { what: "only blank lines", file: "013_blank.sql", content: "\n \r\n\t\n", says: /empty/ },
  {
    what: "only a down section",
    file: "013_only_down.sql",
    content: "-- migrate:down\ndrop table app.nothing;\n",
    says: /only a down section/,
    line: 1,
  },
  {
    what: "only comments, without -- migrate:up",
    file: "013_comments_only.sql",
    content: "-- nothing here yet\n-- (a reminder)\n",
    says: /only comments/,
  },
  {
    what: "unterminated dollar quote",
    file: "013_unterminated_dollar.sql",
    content:
      "-- migrate:up\ncreate function app.f() returns int language plpgsql as $body$\nbegin return 1; end;\n-- migrate:down\ndrop function app.f();\n",
    says: /unterminated|dollar/i,
    line: 2,
  },
  {
    what: "unterminated string",
    file: "013_unterminated_string.sql",
    content: "-- migrate:up\ninsert into app.apply_log (migration) values ('013);\n",
    says: /unterminated|quote/i,
    line: 2,
  },
  {
    what: "duplicate version",
    file: "006_duplicate_prefix.sql",
    content: "-- migrate:up\ncreate table app.duplicate (id int);\n",
    says: /006|duplicate|version/i,
  },
  { what: "binary garbage", file: "013_binary.sql", content: garbage, says: /UTF-8/ },
  {
    what: "NUL bytes",
    file: "013_nul.sql",
    content: "-- migrate:up\nselect 1;\u0000\n",
    says: /NUL/,
  },
  {
    what: "a UTF-8 byte-order mark (dbmate refuses it too)",
    file: "013_bom.sql",
    content: "\ufeff-- migrate:up\ncreate table app.bom (id int);\n",
    says: /byte-order mark/,
    line: 1,
  },
  {
    what: "unknown marker",
    file: "013_sideways.sql",
    content: "-- migrate:sideways\nselect 1;\n",
    says: /unknown marker/,
    line: 1,
  },
  {
    what: "a transaction: option that is neither true nor false",
    file: "013_option.sql",
    content: "-- migrate:up transaction:maybe\nselect 1;\n",
    says: /unknown option/,
    line: 1,
  },
  {
    // dbmate reads a marker only at the start of a line: it would run the down SQL as part of the up.
    what: "an indented \\t-- migrate:down",
    file: "013_indented_down.sql",
    content:
      "-- migrate:up\ncreate table app.indented (id int);\n\t-- migrate:down\ndrop table app.indented;\n",
    says: /indented/,
    line: 3,
  },
  {
    what: "a marker in upper case",
    file: "013_upper_marker.sql",
    content:
      "-- migrate:up\ncreate table app.shouting (id int);\n-- MIGRATE:DOWN\ndrop table app.shouting;\n",
    says: /not a marker dbmate reads/,
    line: 3,
  },
  {
    what: "SQL before the up marker",
    file: "013_stray.sql",
    content: "drop schema app cascade;\n-- migrate:up\nselect 1;\n",
    says: /before/,
    line: 1,
  },
  {
    what: "two up markers",
    file: "013_two_ups.sql",
    content: "-- migrate:up\nselect 1;\n-- migrate:up\nselect 2;\n",
    says: /second/,
    line: 3,
  },
];

interface WarningCase {
  what: string;
  file: string;
  content: Content;
  says: RegExp;
  /** The migration the file loads as, when it loads (a warning about an ignored option). */
  loadsAs?: string;
}

/** Non-blocking warnings: listed, and nothing is refused. */
const WARNINGS: WarningCase[] = [
  {
    what: "misnamed (full-width digits)",
    file: "０１３_wide.sql",
    content: "select 1;\n",
    says: /not a migration file name/,
  },
  {
    what: "misnamed (no version)",
    file: "create_things.sql",
    content: "select 1;\n",
    says: /not a migration file name/,
  },
  {
    what: "misnamed (a ..)",
    file: "013_two..dots.sql",
    content: "select 1;\n",
    says: /not a migration file name/,
  },
  {
    what: "misnamed (a space)",
    file: "013 add things.sql",
    content: "select 1;\n",
    says: /not a migration file name/,
  },
  {
    what: "a marker option dbmate ignores",
    file: "013_lock_option.sql",
    content: "-- migrate:up lock:off\nselect 1;\n",
    says: /"lock:off" .* is ignored/,
    loadsAs: "013_lock_option",
  },
];

interface LoadsCase {
  what: string;
  file: string;
  content: Content;
  /** The migration it loads as; null when the entry is ignored altogether. */
  loadsAs: string | null;
}

/** What loads without a problem (or is ignored without one): names SPEC §2 takes, directories. */
const CLEAN: LoadsCase[] = [
  {
    what: "upper case in the name (dbmate's names)",
    file: "013_Bad_Name.sql",
    content: "select 1;\n",
    loadsAs: "013_Bad_Name",
  },
  {
    what: "dbmate's own `new` output",
    file: "20240101120000_create-users-table.sql",
    content: "-- migrate:up\nselect 1;\n\n-- migrate:down\n\n",
    loadsAs: "20240101120000_create-users-table",
  },
  {
    what: "an up section of comments only under -- migrate:up (a no-op)",
    file: "013_empty_up.sql",
    content: "-- migrate:up\n-- nothing yet\n-- migrate:down\ndrop table app.nothing;\n",
    loadsAs: "013_empty_up",
  },
  {
    what: "a directory named like a migration, holding one",
    file: "013_directory.sql",
    content: {
      directory: {
        "014_inside.sql": "-- migrate:up\ncreate table app.inside (id int);\n",
      },
    },
    loadsAs: null,
  },
  {
    what: "a file that is not .sql",
    file: "013_notes.txt",
    content: "drop schema app;\n",
    loadsAs: null,
  },
];

function place(file: string, content: Content): string {
  const path = join(dir, file);
  if (typeof content === "object" && !Buffer.isBuffer(content)) {
    mkdirSync(path);
    for (const [name, text] of Object.entries(content.directory)) {
      writeFileSync(join(path, name), text);
    }
  } else {
    writeFileSync(path, content);
  }
  return path;
}

interface ListBody {
  applied: { migration_name: string }[];
  pending: { migration_name: string }[];
  problems: { kind: string; migration_name: string | null; message: string; blocking: boolean }[];
}

interface ApplyBody {
  results: { migration_name: string; status: string; sql?: string }[];
}

const headers = { "x-migration-secret": SECRET, "content-type": "application/json" };

const PENDING = () => files.slice(6).map((f) => f.name);

const list = () => send(`${studio.url}/api/platform/migrations`, { headers });
const restApply = (body: unknown) =>
  send(`${studio.url}/api/platform/migrations/apply`, {
    method: "POST",
    headers,
    body: JSON.stringify(body),
  });
const trpcApply = (input: unknown) =>
  send(`${studio.url}/api/trpc/migrations.apply`, {
    method: "POST",
    headers,
    body: JSON.stringify({ json: input }),
  });
const trpcList = () => send(`${studio.url}/api/trpc/migrations.list`, { headers });

/** A file name as it appears inside a JSON string. */
const inJson = (text: string) => JSON.stringify(text).slice(1, -1);

async function expectClean(): Promise<void> {
  const clean = await list();
  expect((clean.body as ListBody).problems).toEqual([]);
}

describe("files that do not load, in a live Studio's migrations/", () => {
  for (const c of ERRORS) {
    const at = c.line === undefined ? c.file : `${c.file}:${c.line}`;
    it(`${c.what} (${c.file}): refused naming ${at} on every face; list still serves; nothing runs`, async () => {
      const path = place(c.file, c.content);
      try {
        // list: 200, everything else still listed, and a blocking problem naming the file.
        const listed = await list();
        expect(answerProblems(listed, { expected: [200] })).toEqual([]);
        const body = listed.body as ListBody;
        expect(body.applied.map((m) => m.migration_name)).toEqual(
          files.slice(0, 6).map((f) => f.name),
        );
        const named = body.problems.filter((p) => p.message.includes(c.file));
        expect(named, JSON.stringify(body.problems)).not.toHaveLength(0);
        expect(named.map((p) => p.message).join("\n")).toMatch(c.says);
        expect(named.map((p) => p.message).join("\n")).toContain(at);
        expect(named.every((p) => p.kind === "invalid_file" && p.blocking)).toBe(true);

        // tRPC list too.
        const listedTrpc = await trpcList();
        expect(answerProblems(listedTrpc, { expected: [200] })).toEqual([]);
        expect(listedTrpc.text).toContain(inJson(at));

        // A plain apply is refused, naming the file and line, and runs nothing: REST and tRPC.
        const apply = await restApply({});
        expect(answerProblems(apply, { expected: [409] })).toEqual([]);
        expect(apply.text).toContain(inJson(at));
        const applyTrpc = await trpcApply({});
        expect(answerProblems(applyTrpc, { expected: [409] })).toEqual([]);
        expect(applyTrpc.text).toContain(inJson(at));
        expect(applyTrpc.text).toContain("INVALID_MIGRATION_FILE");

        // The CLI says the same, directly.
        const status = await runCli(directArgs(["status"], database.url, dir));
        expect(status.code, describeRun(status)).toBe(1);
        expect(status.stdout + status.stderr).toContain(c.file);
        const cliApply = await runCli(directArgs(["apply"], database.url, dir));
        expect(cliApply.code, describeRun(cliApply)).not.toBe(0);
        // The --json document names it in error.details, one line per file.
        expect(cliApply.json?.error?.code, describeRun(cliApply)).toBe("INVALID_MIGRATION_FILE");
        expect(JSON.stringify(cliApply.json?.error), describeRun(cliApply)).toContain(inJson(at));
        expect(cliApply.stderr).toContain(at);
        expect(cliApply.stderr).not.toMatch(/\n\s+at /);

        expect(await state()).toEqual(before);
        figures.add("malformed files");
        figures.add("refusals checked", 6);
      } finally {
        rmSync(path, { recursive: true, force: true });
      }
      await expectClean();
    });
  }

  it("an indented -- migrate:down is refused naming file:line by the CLI through Studio too", async () => {
    const c = ERRORS.find((e) => e.file === "013_indented_down.sql") as ErrorCase;
    const path = place(c.file, c.content);
    try {
      const run = await runCli(["apply", "--url", studio.url, "--json"], {
        MIGRATION_SECRET: SECRET,
      });
      expect(run.code, describeRun(run)).not.toBe(0);
      expect(JSON.stringify(run.json?.error), describeRun(run)).toContain(`${c.file}:3`);
      expect(run.stderr).toContain(`${c.file}:3`);
      expect(run.stderr).toMatch(/indented/);
      expect(run.stderr + run.stdout).not.toContain(SECRET);
      expect(await state()).toEqual(before);
      // Not even the up SQL above the stray marker ran.
      expect(await catalog(database.url)).not.toContainEqual(expect.stringContaining("indented"));
    } finally {
      rmSync(path, { force: true });
    }
  });
});

describe("warnings: misnamed .sql files and ignored marker options block nothing", () => {
  for (const c of WARNINGS) {
    it(`${c.what} (${c.file}): a non-blocking warning naming the file; applies go on`, async () => {
      const path = place(c.file, c.content);
      try {
        const listed = await list();
        expect(answerProblems(listed, { expected: [200] })).toEqual([]);
        const body = listed.body as ListBody;
        const named = body.problems.filter((p) => p.message.includes(c.file));
        expect(named, JSON.stringify(body.problems)).toHaveLength(1);
        expect(named[0]).toMatchObject({ kind: "invalid_file", blocking: false });
        expect(named[0]?.message).toMatch(c.says);
        expect(named[0]?.message).toMatch(/warning/);
        expect(body.problems.filter((p) => p.blocking)).toEqual([]);
        const pending = [...PENDING(), ...(c.loadsAs ? [c.loadsAs] : [])];
        expect(body.pending.map((m) => m.migration_name)).toEqual(pending);
        expect((await trpcList()).text).toContain(inJson(c.file));

        // Not refused: a dry run plans every pending migration, on REST, tRPC and the CLI.
        const dry = await restApply({ dry_run: true });
        expect(answerProblems(dry, { expected: [200] })).toEqual([]);
        expect((dry.body as ApplyBody).results.map((r) => r.migration_name)).toEqual(pending);
        const dryTrpc = await trpcApply({ dryRun: true });
        expect(answerProblems(dryTrpc, { expected: [200] })).toEqual([]);
        const dryCli = await runCli(directArgs(["apply", "--dry-run"], database.url, dir));
        expect(dryCli.code, describeRun(dryCli)).toBe(0);
        expect(applySteps(dryCli).map((s) => s.migrationName)).toEqual(pending);
        const status = await runCli(directArgs(["status"], database.url, dir));
        expect(status.stdout + status.stderr).toContain(c.file);

        expect(await state()).toEqual(before);
        figures.add("warnings");
      } finally {
        rmSync(path, { recursive: true, force: true });
      }
      await expectClean();
    });
  }
});

describe("names SPEC §2 takes, and entries that are ignored", () => {
  for (const c of CLEAN) {
    const outcome = c.loadsAs === null ? "ignored" : `loads as ${c.loadsAs}`;
    it(`${c.what} (${c.file}): ${outcome}, without a problem`, async () => {
      const path = place(c.file, c.content);
      try {
        const listed = await list();
        expect(answerProblems(listed, { expected: [200] })).toEqual([]);
        const body = listed.body as ListBody;
        expect(body.problems).toEqual([]);
        const pending = [...PENDING(), ...(c.loadsAs ? [c.loadsAs] : [])];
        expect(body.pending.map((m) => m.migration_name)).toEqual(pending);
        expect(listed.text).not.toContain("014_inside");

        const dry = await restApply({ dry_run: true });
        expect(answerProblems(dry, { expected: [200] })).toEqual([]);
        expect((dry.body as ApplyBody).results.map((r) => r.migration_name)).toEqual(pending);

        const status = await runCli(directArgs(["status"], database.url, dir));
        expect(status.code, describeRun(status)).toBe(0);
        expect(await state()).toEqual(before);
        figures.add("clean entries");
      } finally {
        rmSync(path, { recursive: true, force: true });
      }
      await expectClean();
    });
  }
});

describe("a broken file blocks only what must pass it", () => {
  it("several at once are each named; applies up to an earlier migration go on; with warnings left, everything applies once", async () => {
    const broken = ERRORS.filter((c) => c.file.startsWith("013_")).slice(0, 8);
    const paths = broken.map((c) => place(c.file, c.content));
    // A good migration after the broken ones: an apply up to it would have to pass them.
    paths.push(place("014_after.sql", "-- migrate:up\ncreate table app.after (id int);\n"));
    const warning = WARNINGS[1] as WarningCase;
    const kept = [
      place(warning.file, warning.content),
      place("013_directory.sql", { directory: {} }),
    ];
    try {
      const listed = await list();
      expect(listed.status).toBe(200);
      for (const c of broken) expect(listed.text).toContain(c.file);
      const refused = await restApply({});
      expect(answerProblems(refused, { expected: [409] })).toEqual([]);
      for (const c of broken) expect(refused.text).toContain(c.file);
      expect(await state()).toEqual(before);

      // Up to an earlier migration: not blocked, over REST, tRPC and the CLI.
      const upTo = await restApply({ up_to: "008_index_concurrently" });
      expect(answerProblems(upTo, { expected: [200] })).toEqual([]);
      expect((upTo.body as ApplyBody).results.map((r) => [r.migration_name, r.status])).toEqual([
        ["007_touch_projects", "applied"],
        ["008_index_concurrently", "applied"],
      ]);
      const upToTrpc = await trpcApply({ upTo: "009_project_state" });
      expect(answerProblems(upToTrpc, { expected: [200] })).toEqual([]);
      const cli = await runCli(
        directArgs(["apply", "--to", "010_live_projects_view"], database.url, dir),
      );
      expect(cli.code, describeRun(cli)).toBe(0);
      expect(applySteps(cli).map((s) => s.migrationName)).toEqual(["010_live_projects_view"]);
      // A target after the broken files is still refused, naming them, and runs nothing.
      const between = await state();
      const past = await restApply({ up_to: "014_after" });
      expect(answerProblems(past, { expected: [409] })).toEqual([]);
      expect((past.body as { code?: string }).code).toBe("INVALID_MIGRATION_FILE");
      for (const c of broken) expect(past.text).toContain(c.file);
      const pastTrpc = await trpcApply({ upTo: "014_after" });
      expect(answerProblems(pastTrpc, { expected: [409] })).toEqual([]);
      expect(pastTrpc.text).toContain("INVALID_MIGRATION_FILE");
      expect(await state()).toEqual(between);
    } finally {
      for (const path of paths) rmSync(path, { recursive: true, force: true });
    }
    // The warning and the directory stay: a plain apply is not refused by them.
    try {
      const apply = await restApply({});
      expect(answerProblems(apply, { expected: [200] })).toEqual([]);
      expect(await exactlyOnceViolations(database.url, files)).toEqual([]);
      const listed = (await list()).body as ListBody;
      expect(listed.problems.map((p) => [p.kind, p.blocking])).toEqual([["invalid_file", false]]);
    } finally {
      for (const path of kept) rmSync(path, { recursive: true, force: true });
    }
    figures.add("migrations lost", 0);
  });

  it("an up section of comments only under -- migrate:up applies as a no-op: recorded applied, nothing run", async () => {
    // Runs after the test above: everything else is applied.
    const schema = await catalog(database.url);
    place(
      "013_reserved.sql",
      "-- migrate:up\n-- Reserved: the index lands in the next release.\n\n-- migrate:down\n",
    );
    const apply = await restApply({});
    expect(answerProblems(apply, { expected: [200] })).toEqual([]);
    expect((apply.body as ApplyBody).results).toMatchObject([
      { migration_name: "013_reserved", status: "applied" },
    ]);
    expect(await catalog(database.url)).toEqual(schema);
    const { rows, events } = await tracking(database.url);
    expect(rows.find((r) => r.migration_name === "013_reserved")).toMatchObject({
      status: "applied",
    });
    expect(
      events.filter((e) => e.migration_name === "013_reserved").map((e) => [e.action, e.outcome]),
    ).toEqual([["apply", "succeeded"]]);
    // Applied once: again, it is already applied.
    const again = await trpcApply({ migrationName: "013_reserved" });
    expect(answerProblems(again, { expected: [200] })).toEqual([]);
    expect(again.text).toContain("already_applied");
    const status = await runCli(directArgs(["status"], database.url, dir));
    expect(status.code, describeRun(status)).toBe(0);
  });

  it("Studio logged no stack trace", () => {
    expect(studio.output()).not.toMatch(/\n\s+at /);
    expect(studio.output()).not.toContain(SECRET);
  });
});
