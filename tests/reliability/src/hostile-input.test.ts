import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isValidMigrationName } from "@studio/migrations-core";
import {
  applyInput,
  baselineInput,
  historyInput,
  listInput,
  resolveInput,
  rollbackInput,
} from "@studio/migrations-trpc";
import { query, type TestDatabase } from "@studio/test-postgres";
import fc from "fast-check";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StudioProcess } from "../../../apps/studio/test/studio-process.ts";
import { describeRun, directArgs, runCli } from "./support/cli.ts";
import { FUZZ_RUNS } from "./support/config.ts";
import {
  catalog,
  exactlyOnceViolations,
  tracking,
  trackingFingerprint,
} from "./support/database.ts";
import {
  type Answer,
  answerProblems,
  contentTypes,
  ESCAPE_NAMES,
  invalidObject,
  isValidName,
  nonObject,
  rawGarbage,
  rawRequest,
  type Shape,
  send,
  trpcQueryUrl,
  UNKNOWN_NAMES,
} from "./support/hostile.ts";
import { MIGRATION_NAMES, type MigrationFile, migrationSet } from "./support/migrations.ts";
import {
  type DatabaseState,
  databaseState,
  type StudioFixture,
  startStudioFixture,
} from "./support/studio-fixture.ts";
import { Figures } from "./support/summary.ts";

/**
 * Hostile input against a real Studio on a real PostgreSQL, over HTTP: fuzzed REST bodies and
 * tRPC inputs for every procedure, and names crafted to escape `migrations/` or SQL quoting,
 * through REST, tRPC and the CLI. Every answer must be a documented status with a readable JSON
 * message and no stack trace; the database must be exactly as it was after each refusal.
 */

const SECRET = "hostile-input-secret-7d41a0e59c3b82";
const figures = new Figures("hostile input (REST, tRPC, CLI)");

let database: TestDatabase;
let studio: StudioProcess;
/** Holds `migrations/` and, one level above it, files that must never be read. */
let root: string;
let dir: string;
let files: MigrationFile[];
/** The tracking fingerprint and `app` catalog every refusal must leave as they are. */
let fixture: StudioFixture | undefined;
let baseline: DatabaseState;

const APPLIED_FIRST = 6; // 001–006 applied, 007–012 pending: both apply and rollback have work

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "reliability-hostile-"));
  dir = join(root, "migrations");
  mkdirSync(dir);
  files = migrationSet();
  for (const f of files) writeFileSync(join(dir, `${f.name}.sql`), f.text);
  // Valid-looking migrations outside the directory: reading them would create app.escaped.
  const outside =
    "-- migrate:up\ncreate table app.escaped (id int);\n-- migrate:down\ndrop table app.escaped;\n";
  writeFileSync(join(root, "013_escape.sql"), outside);
  writeFileSync(join(root, "escape.sql"), outside);
  mkdirSync(join(root, "etc"));
  writeFileSync(join(root, "etc", "013_escape.sql"), outside);

  fixture = await startStudioFixture({
    label: "hostile_input",
    dir,
    secret: SECRET,
    appliedUpTo: MIGRATION_NAMES[APPLIED_FIRST - 1] as string,
  });
  ({ database, studio } = fixture);
  baseline = await snapshot();
});
afterAll(async () => {
  figures.print();
  await fixture?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

const snapshot = () => databaseState(database.url);

let checks = 0;
/** The first input after which the database had changed (later failures only follow from it). */
let firstChange: string | null = null;
/** The database as it was: the fingerprint always, the whole catalog every tenth time. */
async function untouched(label: string): Promise<void> {
  const same =
    (await trackingFingerprint(database.url)) === baseline.fingerprint &&
    (++checks % 10 !== 0 ||
      JSON.stringify(await catalog(database.url)) === JSON.stringify(baseline.catalog));
  if (!same) firstChange ??= label;
  expect(firstChange, "the first input after which the database had changed").toBeNull();
}

const SCHEMAS: Record<string, { safeParse(value: unknown): { success: boolean } }> = {
  list: listInput,
  apply: applyInput,
  rollback: rollbackInput,
  history: historyInput,
  baseline: baselineInput,
  resolve: resolveInput,
};

/** Whether a raw tRPC body happens to decode to a valid input (then it is not hostile). */
function decodesToValid(procedure: string, text: string): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return false;
  }
  try {
    const input = superjson.deserialize(parsed as Parameters<typeof superjson.deserialize>[0]);
    return SCHEMAS[procedure]?.safeParse(input).success ?? false;
  } catch {
    return false;
  }
}

const authed = (extra: Record<string, string> = {}) => ({ "x-migration-secret": SECRET, ...extra });

function restPost(path: string, body: string, contentType: string | null = "application/json") {
  const headers: Record<string, string> = authed();
  if (contentType !== null) headers["content-type"] = contentType;
  return send(`${studio.url}${path}`, { method: "POST", headers, body });
}

function trpcMutation(procedure: string, body: string, contentType = "application/json") {
  return send(`${studio.url}/api/trpc/migrations.${procedure}`, {
    method: "POST",
    headers: authed({ "content-type": contentType }),
    body,
  });
}

function trpcCall(procedure: string, input: unknown): Promise<Answer> {
  if (procedure === "list" || procedure === "history") {
    return send(trpcQueryUrl(studio.url, procedure, input), { headers: authed() });
  }
  return trpcMutation(procedure, JSON.stringify({ json: input }));
}

/** Counts the answer in the figures and returns its problems. */
function judge(kind: string, answer: Answer, expected: readonly number[]): string[] {
  figures.add(kind);
  figures.add(`status ${answer.status}`);
  const problems = answerProblems(answer, { expected, secrets: [SECRET] });
  if (answer.status >= 500) figures.add("5xx answers");
  return problems;
}

const REST_APPLY: Shape = {
  migration_name: "name",
  up_to: "name",
  dry_run: "boolean",
  allow_out_of_order: "boolean",
};
const REST_ROLLBACK: Shape = { migration_name: "name", mark_only: "boolean", dry_run: "boolean" };

const TRPC_SHAPES: Record<string, Shape> = {
  list: {},
  apply: { migrationName: "name", upTo: "name", dryRun: "boolean", allowOutOfOrder: "boolean" },
  rollback: { migrationName: "name", markOnly: "boolean", dryRun: "boolean" },
  history: { migrationName: "name", cursor: "cursor", limit: "limit" },
  baseline: { upTo: "name" },
  resolve: { migrationName: "name", as: "enum" },
};

const runs = { numRuns: FUZZ_RUNS };

describe("fuzzed REST bodies against Studio on PostgreSQL", () => {
  for (const [path, shape] of [
    ["/api/platform/migrations/apply", REST_APPLY],
    ["/api/platform/migrations/rollback", REST_ROLLBACK],
  ] as const) {
    it(`${path}: invalid JSON bodies, in any content type, are 400 and touch nothing`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(invalidObject(shape), nonObject),
          contentTypes,
          async (body, type) => {
            const answer = await restPost(path, JSON.stringify(body), type);
            expect(judge("REST bodies", answer, [400])).toEqual([]);
            await untouched(`${path} ${JSON.stringify(body).slice(0, 200)}`);
          },
        ),
        runs,
      );
    });
  }

  it("raw garbage (not JSON, NUL, deep nesting, 200 kB) on every POST route is 400/413 and touches nothing", async () => {
    const paths = [
      "/api/platform/migrations/apply",
      "/api/platform/migrations/rollback",
      "/api/migrations/apply-008",
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...paths),
        rawGarbage,
        contentTypes,
        async (path, body, type) => {
          const answer = await restPost(path, body, type);
          expect(judge("REST bodies", answer, [400, 413])).toEqual([]);
          await untouched(`${path} ${JSON.stringify(body.slice(0, 200))}`);
        },
      ),
      runs,
    );
  });

  it("other methods are 405, and the list ignores bodies and query strings", async () => {
    for (const method of ["PUT", "DELETE", "PATCH", "GET"]) {
      const answer = await send(`${studio.url}/api/platform/migrations/apply`, {
        method,
        headers: authed(),
        ...(method === "GET" ? {} : { body: "{}" }),
      });
      expect(judge("REST bodies", answer, [405])).toEqual([]);
    }
    const list = await send(
      `${studio.url}/api/platform/migrations?migration_name=../../etc/passwd&__proto__[x]=1`,
      { headers: authed() },
    );
    expect(judge("REST bodies", list, [200])).toEqual([]);
    await untouched("other methods");
  });

  it("a malformed x-migration-actor is 400 with the right secret, and touches nothing", async () => {
    // What fetch can send; it refuses other control characters itself (see the raw test below).
    for (const actor of ["a".repeat(201), "ops\tteam", "é".repeat(201)]) {
      const answer = await send(`${studio.url}/api/platform/migrations/apply`, {
        method: "POST",
        headers: authed({ "x-migration-actor": actor, "content-type": "application/json" }),
        body: '{"dry_run": true}',
      });
      expect(judge("bad actors", answer, [400]), JSON.stringify(actor)).toEqual([]);
      const trpc = await send(`${studio.url}/api/trpc/migrations.apply`, {
        method: "POST",
        headers: authed({ "x-migration-actor": actor, "content-type": "application/json" }),
        body: JSON.stringify({ json: { dryRun: true } }),
      });
      expect(judge("bad actors", trpc, [400]), JSON.stringify(actor)).toEqual([]);
    }
    await untouched("bad actors");
  });

  it("control characters in x-migration-actor, written raw on the socket, are 400 and touch nothing", async () => {
    for (const actor of ["ops\u0001", "ops\u007f", "ops\u001b[31mred", "\u0008"]) {
      const answer = await rawRequest(
        studio.url,
        `POST /api/platform/migrations/apply HTTP/1.1\r\nx-migration-secret: ${SECRET}\r\nx-migration-actor: ${actor}\r\ncontent-type: application/json`,
        '{"dry_run": true}',
      );
      // Node's parser may refuse the header before Studio sees it; either way, a 400.
      expect(answer.status, JSON.stringify(actor)).toBe(400);
      expect(answer.raw).not.toMatch(/\n\s+at /);
      figures.add("bad actors");
    }
    await untouched("raw bad actors");
  });
});

describe("fuzzed tRPC inputs against Studio on PostgreSQL", () => {
  for (const [procedure, shape] of Object.entries(TRPC_SHAPES)) {
    it(`migrations.${procedure}: invalid inputs are 400 and touch nothing`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(invalidObject(shape), nonObject), async (input) => {
          // A query's input travels in the URL, which Node caps at 16 kB of headers (431).
          const query = procedure === "list" || procedure === "history";
          fc.pre(!query || JSON.stringify(input).length < 6_000);
          const answer = await trpcCall(procedure, input);
          // 413 for a body over 64 kB (a long name of NULs is six bytes a character in JSON).
          expect(judge("tRPC inputs", answer, [400, 413])).toEqual([]);
          await untouched(`${procedure} ${JSON.stringify(input).slice(0, 200)}`);
        }),
        runs,
      );
    });
  }

  it("raw garbage bodies, superjson metadata and content types on every mutation touch nothing", async () => {
    const hostileMeta = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.constantFrom(
        { values: { __proto__: ["class"] } },
        { values: ["Date"] },
        { values: { migrationName: [["custom", "x"]] } },
        { values: { migrationName: ["regexp"] } },
        { values: { migrationName: ["bigint"] } },
        { values: { "constructor.prototype.polluted": ["undefined"] } },
        { referentialEqualities: { "": ["json"] } },
        { referentialEqualities: { migrationName: ["__proto__.polluted"] } },
        { v: 999 },
      ),
    );
    const body = fc.oneof(
      rawGarbage,
      fc
        .tuple(invalidObject(TRPC_SHAPES.rollback as Shape), hostileMeta)
        .map(([json, meta]) => JSON.stringify({ json, meta })),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify({ json: v, meta: v })),
    );
    const mutations = ["apply", "rollback", "baseline", "resolve"];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...mutations),
        body,
        contentTypes,
        async (procedure, text, type) => {
          fc.pre(!decodesToValid(procedure, text));
          const answer = await trpcMutation(procedure, text, type ?? "application/json");
          // 200 only if the garbage happened to decode to a valid input; it did not here.
          expect(judge("tRPC inputs", answer, [400, 413, 415])).toEqual([]);
          await untouched(`${procedure} ${text.slice(0, 200)}`);
        },
      ),
      runs,
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("garbage in a query's input parameter, batches and unknown procedures touch nothing", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("list", "history"),
        fc.oneof(rawGarbage, fc.string({ maxLength: 50 })),
        async (procedure, raw) => {
          const url = `${studio.url}/api/trpc/migrations.${procedure}?input=${encodeURIComponent(raw.slice(0, 4_000))}`;
          const answer = await send(url, { headers: authed() });
          // A query's garbage that decodes to no input is a plain list: 200.
          expect(judge("tRPC inputs", answer, [200, 400])).toEqual([]);
          await untouched(`${procedure} ${raw.slice(0, 200)}`);
        },
      ),
      runs,
    );
    const cases: [string, RequestInit, number[]][] = [
      [`/api/trpc/migrations.nothing`, {}, [404]],
      [`/api/trpc/migrations.apply`, {}, [405]],
      [`/api/trpc/..%2f..%2fetc%2fpasswd`, {}, [404]],
      [`/api/trpc/migrations.list,migrations.apply?batch=1&input=%7B%7D`, {}, [400, 405]],
      [
        `/api/trpc/migrations.apply,migrations.rollback?batch=1`,
        { method: "POST", body: JSON.stringify({ 0: { json: { x: 1 } }, 1: { json: {} } }) },
        [400],
      ],
      [
        `/api/trpc/migrations.apply?batch=1`,
        { method: "POST", body: JSON.stringify(Array.from({ length: 500 }, () => ({ json: 1 }))) },
        [400],
      ],
    ];
    for (const [path, init, expected] of cases) {
      const answer = await send(`${studio.url}${path}`, {
        ...init,
        headers: authed({ "content-type": "application/json" }),
      });
      expect(judge("tRPC inputs", answer, expected), path).toEqual([]);
    }
    await untouched("queries");
  });
});

describe("names crafted to escape migrations/ or SQL quoting", () => {
  it("the SPEC §2 rule restated by these tests agrees with the engine's, on every name used and on random ones", () => {
    for (const name of ESCAPE_NAMES) expect(isValidMigrationName(name), name).toBe(false);
    for (const name of UNKNOWN_NAMES) expect(isValidMigrationName(name), name).toBe(true);
    for (const name of [...ESCAPE_NAMES, ...UNKNOWN_NAMES, ...MIGRATION_NAMES]) {
      expect(isValidName(name), JSON.stringify(name.slice(0, 60))).toBe(isValidMigrationName(name));
    }
    const nameLike = fc.stringMatching(/^[0-9]{1,4}([_-][A-Za-z0-9_.\- /\u00e9]{0,12})?$/);
    fc.assert(
      fc.property(fc.oneof(nameLike, fc.string({ maxLength: 20 })), (name) => {
        expect(isValidName(name)).toBe(isValidMigrationName(name));
      }),
      { numRuns: 2_000 },
    );
  });

  it(`are refused with 400 on every REST and tRPC face (${ESCAPE_NAMES.length} names)`, async () => {
    for (const name of ESCAPE_NAMES) {
      const label = JSON.stringify(name.slice(0, 60));
      const answers: [string, Answer][] = [
        [
          "rest apply",
          await restPost(
            "/api/platform/migrations/apply",
            JSON.stringify({ migration_name: name }),
          ),
        ],
        [
          "rest up_to",
          await restPost("/api/platform/migrations/apply", JSON.stringify({ up_to: name })),
        ],
        [
          "rest rollback",
          await restPost(
            "/api/platform/migrations/rollback",
            JSON.stringify({ migration_name: name, mark_only: true }),
          ),
        ],
        [
          "rest apply-008",
          await restPost(
            "/api/migrations/apply-008",
            JSON.stringify({ migration_name: name }),
            "application/x-www-form-urlencoded",
          ),
        ],
        ["trpc apply", await trpcCall("apply", { migrationName: name })],
        ["trpc upTo", await trpcCall("apply", { upTo: name, dryRun: true })],
        ["trpc rollback", await trpcCall("rollback", { migrationName: name, markOnly: true })],
        ["trpc baseline", await trpcCall("baseline", { upTo: name })],
        ["trpc resolve", await trpcCall("resolve", { migrationName: name, as: "applied" })],
        ["trpc history", await trpcCall("history", { migrationName: name })],
      ];
      for (const [face, answer] of answers) {
        expect(judge("escape names", answer, [400]), `${face} ${label}`).toEqual([]);
      }
      figures.add("escape names tried");
    }
    await untouched("escape names");
    expect(await catalog(database.url)).toEqual(baseline.catalog);
  });

  it("well-formed unknown names (one sits one level above migrations/) are 404 and never read", async () => {
    for (const name of UNKNOWN_NAMES) {
      const answers: [string, Answer][] = [
        [
          "rest apply",
          await restPost(
            "/api/platform/migrations/apply",
            JSON.stringify({ migration_name: name }),
          ),
        ],
        [
          "rest up_to",
          await restPost("/api/platform/migrations/apply", JSON.stringify({ up_to: name })),
        ],
        [
          "rest rollback",
          await restPost(
            "/api/platform/migrations/rollback",
            JSON.stringify({ migration_name: name }),
          ),
        ],
        ["trpc apply", await trpcCall("apply", { migrationName: name })],
        ["trpc rollback", await trpcCall("rollback", { migrationName: name, markOnly: true })],
        ["trpc baseline", await trpcCall("baseline", { upTo: name })],
        ["trpc resolve", await trpcCall("resolve", { migrationName: name, as: "applied" })],
      ];
      for (const [face, answer] of answers) {
        expect(judge("unknown names", answer, [404]), `${face} ${name.slice(0, 40)}`).toEqual([]);
      }
    }
    const list = await send(`${studio.url}/api/platform/migrations`, { headers: authed() });
    expect(list.status).toBe(200);
    expect(list.text).not.toContain("escape");
    await untouched("unknown names");
  });

  it("through the CLI, direct and over HTTP: refused, non-zero, nothing created or applied", async () => {
    // NUL cannot be passed in argv at all; the others go through as given.
    const names = ESCAPE_NAMES.filter((n) => !n.includes("\u0000") && n !== "").slice(0, 14);
    names.push("013_escape");
    const before = listTree(root);
    for (const name of names) {
      const direct = await runCli(directArgs(["apply", name], database.url, dir));
      const http = await runCli(["apply", name, "--url", studio.url, "--json"], {
        MIGRATION_SECRET: SECRET,
      });
      const rollback = await runCli(
        directArgs(["rollback", name, "--mark-only"], database.url, dir),
      );
      for (const run of [direct, http, rollback]) {
        expect(run.code, describeRun(run)).not.toBe(0);
        expect(run.json?.ok, describeRun(run)).toBe(false);
        expect(CLI_REFUSALS, describeRun(run)).toContain(run.json?.error?.code);
        expect(run.stderr + run.stdout).not.toMatch(/\n\s+at /);
        expect(run.stderr + run.stdout).not.toContain(SECRET);
        figures.add("CLI runs");
      }
      const created = await runCli(["new", name, "--migrations-dir", dir, "--json"]);
      expect(created.code, describeRun(created)).not.toBe(0);
      figures.add("CLI runs");
    }
    expect(listTree(root)).toEqual(before);
    await untouched("CLI");
  });

  it("afterwards, applying everything applies exactly migrations/ and nothing from above it", async () => {
    const answer = await restPost(
      "/api/platform/migrations/apply",
      "{}",
      "application/x-www-form-urlencoded",
    );
    expect(answerProblems(answer, { expected: [200] })).toEqual([]);
    expect(await exactlyOnceViolations(database.url, files)).toEqual([]);
    const { rows, events } = await tracking(database.url);
    expect(rows.map((r) => r.migration_name)).toEqual(MIGRATION_NAMES);
    expect(events.every((e) => MIGRATION_NAMES.includes(e.migration_name))).toBe(true);
    expect(await query(database.url, "select to_regclass('app.escaped') as t")).toEqual([
      { t: null },
    ]);
    figures.add("migrations applied after the fuzzing", rows.length - APPLIED_FIRST);
  });

  it("Studio logged no stack trace, no internal error and never the secret", () => {
    const logs = studio.output();
    expect(logs).not.toContain(SECRET);
    expect(logs).not.toMatch(/\n\s+at /);
    expect(logs).not.toMatch(/Internal error|TypeError|RangeError/);
    figures.add("5xx answers", 0);
    figures.add("rejected inputs that changed the database", 0);
  });
});

/** How the CLI names a refused name: the core's codes directly, tRPC's over HTTP. */
const CLI_REFUSALS = ["INVALID_INPUT", "MIGRATION_NOT_FOUND", "USAGE", "BAD_REQUEST", "NOT_FOUND"];

function listTree(path: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path).sort()) {
    const full = join(path, entry);
    out.push(full);
    if (statSync(full).isDirectory()) out.push(...listTree(full));
  }
  return out;
}
