import { createHash, createHmac, randomUUID } from "node:crypto";
import type { TestDatabase } from "@studio/test-postgres";
import fc from "fast-check";
import { sealData } from "iron-session";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StudioProcess } from "../../../apps/studio/test/studio-process.ts";
import { describeRun, directArgs, runCli } from "./support/cli.ts";
import { FUZZ_RUNS } from "./support/config.ts";
import { tracking } from "./support/database.ts";
import { type Answer, answerProblems, send } from "./support/hostile.ts";
import {
  MIGRATION_NAMES,
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
 * The secret and the session, from outside: every wrong secret gets the same 401 (status, body
 * and headers) whatever part of it was wrong, the secret never shows in a response or a log
 * line, a browser session cannot be forged, and its mutations need the CSRF header from Studio's
 * own origin — while the deploy script's `curl -d` with the secret header keeps working.
 *
 * Studio throttles sign-ins per address after 10 wrong secrets (SPEC §6). So that this suite's
 * hundreds of wrong secrets test the answers, not the throttle (`apps/studio/test/auth.test.ts`
 * tests that), Studio trusts the loopback proxy and each sign-in comes from its own address.
 */

const SECRET = "Secr3t-for-reliability_9f2c4e7a1b";
const figures = new Figures("secrets and sessions");

let database: TestDatabase;
let studio: StudioProcess;
let files: MigrationFile[];
let dir: string;
let before: DatabaseState;

let fixture: StudioFixture | undefined;

beforeAll(async () => {
  files = migrationSet();
  dir = writeMigrationsDir(files, "secrets");
  fixture = await startStudioFixture({
    label: "secrets",
    dir,
    secret: SECRET,
    appliedUpTo: "006_create_slugify",
    env: { STUDIO_TRUSTED_PROXIES: "127.0.0.1,::1" },
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

async function expectUntouched(label: string) {
  expect(await state(), label).toEqual(before);
}

const flip = (c: string) => (c === "a" ? "b" : "a");

let nextAddress = 1;
/** A client address of its own (TEST-NET-3), as a trusted proxy would forward it. */
function fromNewAddress(): Record<string, string> {
  const n = nextAddress++;
  if (n > 250) throw new Error("Out of test addresses: widen fromNewAddress.");
  return { "x-forwarded-for": `203.0.113.${n}` };
}

/** Wrong secrets, from far off to almost right. */
const WRONG_SECRETS: Record<string, string> = {
  empty: "",
  wrong: "nope",
  "right length, last character wrong": SECRET.slice(0, -1) + flip(SECRET.slice(-1)),
  "right length, first character wrong": flip(SECRET[0] as string) + SECRET.slice(1),
  "right prefix, one short": SECRET.slice(0, -1),
  "right prefix, one long": `${SECRET}x`,
  "right prefix only": SECRET.slice(0, 8),
  "different case": SECRET.toUpperCase(),
  "whitespace inside": `${SECRET.slice(0, 10)} ${SECRET.slice(10)}`,
  "tab inside": `${SECRET.slice(0, 10)}\t${SECRET.slice(10)}`,
  "twice, as two headers join": `${SECRET}, ${SECRET}`,
  "sha-256 of it": createHash("sha256").update(SECRET).digest("hex"),
  "base64 of it": Buffer.from(SECRET).toString("base64"),
  "10 kB": SECRET.repeat(400),
  "latin-1 look-alike": SECRET.replace("e", "é"),
};

interface Route {
  name: string;
  path: string;
  init: RequestInit;
}

const ROUTES: Route[] = [
  { name: "REST list", path: "/api/platform/migrations", init: {} },
  {
    name: "REST apply",
    path: "/api/platform/migrations/apply",
    init: {
      method: "POST",
      body: "{}",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    },
  },
  {
    name: "REST rollback",
    path: "/api/platform/migrations/rollback",
    init: {
      method: "POST",
      body: '{"migration_name": "006_create_slugify"}',
      headers: { "content-type": "application/json" },
    },
  },
  { name: "apply-008", path: "/api/migrations/apply-008", init: { method: "POST", body: "" } },
  { name: "tRPC list", path: "/api/trpc/migrations.list", init: {} },
  { name: "tRPC history", path: "/api/trpc/migrations.history", init: {} },
  {
    name: "tRPC apply",
    path: "/api/trpc/migrations.apply",
    init: { method: "POST", body: '{"json":{}}', headers: { "content-type": "application/json" } },
  },
  {
    name: "tRPC resolve",
    path: "/api/trpc/migrations.resolve",
    init: {
      method: "POST",
      body: '{"json":{"migrationName":"006_create_slugify","as":"rolled_back"}}',
      headers: { "content-type": "application/json" },
    },
  },
];

function call(route: Route, headers: Record<string, string>): Promise<Answer> {
  return send(`${studio.url}${route.path}`, {
    ...route.init,
    headers: { ...(route.init.headers as Record<string, string> | undefined), ...headers },
  });
}

/** Everything a client can tell two answers apart by, except the date. */
function visible(answer: Answer): string {
  const headers = [...answer.headers].filter(([name]) => name !== "date");
  return JSON.stringify({ status: answer.status, headers, body: answer.text });
}

describe("wrong secrets", () => {
  it(`every wrong secret (${Object.keys(WRONG_SECRETS).length} kinds) gets one identical 401 per route`, async () => {
    for (const route of ROUTES) {
      const seen = new Map<string, string[]>();
      for (const [kind, secret] of Object.entries(WRONG_SECRETS)) {
        for (const actor of [undefined, "ops\tbad"]) {
          const headers: Record<string, string> = { "x-migration-secret": secret };
          if (actor) headers["x-migration-actor"] = actor;
          const answer = await call(route, headers);
          expect(answer.status, `${route.name}, ${kind}`).toBe(401);
          expect(answerProblems(answer, { expected: [401], secrets: [SECRET] })).toEqual([]);
          if (secret.length >= 4)
            expect(answer.text, `${route.name}, ${kind}`).not.toContain(secret);
          const key = visible(answer);
          seen.set(key, [...(seen.get(key) ?? []), `${kind}${actor ? " + bad actor" : ""}`]);
          figures.add("wrong-secret requests");
        }
      }
      expect([...seen.values()], `${route.name}: answers differ by kind`).toHaveLength(1);
    }
    await expectUntouched("wrong secrets");
  });

  it("random wrong secrets get the same 401 as any other wrong secret", async () => {
    const route = ROUTES[2] as Route;
    const reference = visible(await call(route, { "x-migration-secret": "nope" }));
    await fc.assert(
      fc.asyncProperty(
        fc
          .string({ unit: "grapheme-ascii", minLength: 1, maxLength: 120 })
          .map((s) => s.trim())
          .filter((s) => s !== "" && s !== SECRET),
        async (secret) => {
          const answer = await call(route, { "x-migration-secret": secret });
          expect(visible(answer)).toBe(reference);
          figures.add("wrong-secret requests");
        },
      ),
      { numRuns: FUZZ_RUNS },
    );
    await expectUntouched("random secrets");
  });

  it("no secret at all is 401 too, saying how to authenticate, and the right one works", async () => {
    for (const route of ROUTES.slice(0, 2)) {
      const answer = await call(route, {});
      expect(answerProblems(answer, { expected: [401] })).toEqual([]);
      figures.add("wrong-secret requests");
    }
    const ok = await send(`${studio.url}/api/platform/migrations`, {
      headers: { "x-migration-secret": SECRET },
    });
    expect(ok.status).toBe(200);
    await expectUntouched("no secret");
  });

  it("the sign-in page answers every wrong secret identically and sets no cookie", async () => {
    const seen = new Set<string>();
    for (const secret of [...Object.values(WRONG_SECRETS), 42, null]) {
      const response = await fetch(`${studio.url}/api/auth/sign-in`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-studio-csrf": "1", ...fromNewAddress() },
        body: JSON.stringify({ secret, name: "Mallory" }),
      });
      expect(response.status).toBe(401);
      expect(response.headers.get("set-cookie")).toBeNull();
      seen.add(await response.text());
      figures.add("wrong-secret sign-ins");
    }
    expect(seen.size).toBe(1);
    expect([...seen][0]).not.toContain(SECRET);
  });
});

describe("sessions", () => {
  let cookie: string;

  beforeAll(async () => {
    const signIn = await fetch(`${studio.url}/api/auth/sign-in`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-studio-csrf": "1", ...fromNewAddress() },
      body: JSON.stringify({ secret: SECRET, name: "Ada" }),
    });
    expect(signIn.status).toBe(204);
    cookie = (signIn.headers.get("set-cookie") ?? "").split(";")[0] as string;
    expect(cookie).toMatch(/^studio_session=/);
    expect(cookie).not.toContain(SECRET);
  });

  /** A cookie in the signed-JSON format Studio used before its sessions moved to the database. */
  function oldFormat(payload: Record<string, unknown>, key = SECRET): string {
    const sessionKey = createHmac("sha256", key).update("studio-session-v1").digest();
    const body = Buffer.from(JSON.stringify(payload)).toString("base64url");
    return `studio_session=${body}.${createHmac("sha256", sessionKey).update(body).digest("base64url")}`;
  }

  it("forged, tampered and foreign cookies are 401; only the one Studio issued works", async () => {
    const value = cookie.slice("studio_session=".length);
    const now = Math.floor(Date.now() / 1000);
    const cases: Record<string, string> = {
      "last character flipped": `studio_session=${value.slice(0, -1)}${flip(value.slice(-1))}`,
      "a character in the middle flipped": `studio_session=${value.slice(0, 40)}${flip(value[40] as string)}${value.slice(41)}`,
      truncated: `studio_session=${value.slice(0, Math.floor(value.length / 2))}`,
      empty: "studio_session=",
      garbage: "studio_session=%00%ff..",
      // Whoever knows the secret still cannot mint a session: it must be a row Studio wrote.
      "old signed format, with the real secret": oldFormat({ actor: "Ada", exp: now + 3600 }),
      "sealed with another password": `studio_session=${await sealData({ sid: randomUUID() }, { password: "x".repeat(40) })}`,
      "two cookies, the first forged": `studio_session=x.y; ${cookie}`,
    };
    for (const [kind, forged] of Object.entries(cases)) {
      const answer = await send(`${studio.url}/api/platform/migrations`, {
        headers: { cookie: forged },
      });
      expect(answerProblems(answer, { expected: [401], secrets: [SECRET] }), kind).toEqual([]);
      figures.add("forged sessions");
    }
    // The control: the cookie sign-in gave works.
    expect(
      (await send(`${studio.url}/api/platform/migrations`, { headers: { cookie } })).status,
    ).toBe(200);
    await expectUntouched("forged sessions");
  });

  it("a signed-in browser's cross-site mutations are refused on every face and touch nothing", async () => {
    const mutations: [string, string][] = [
      ["/api/platform/migrations/apply", "{}"],
      ["/api/platform/migrations/rollback", '{"migration_name": "006_create_slugify"}'],
      ["/api/migrations/apply-008", ""],
      ["/api/trpc/migrations.apply", '{"json":{}}'],
      ["/api/trpc/migrations.rollback", '{"json":{"migrationName":"006_create_slugify"}}'],
      ["/api/trpc/migrations.baseline", '{"json":{"upTo":"012_invoices"}}'],
      [
        "/api/trpc/migrations.resolve",
        '{"json":{"migrationName":"006_create_slugify","as":"rolled_back"}}',
      ],
    ];
    // What a cross-site page can make a browser send (a form, fetch in no-cors mode), and what a
    // sloppy same-site check would let through.
    const attempts: Record<string, Record<string, string>> = {
      "form post": { "content-type": "application/x-www-form-urlencoded" },
      "text/plain fetch": { "content-type": "text/plain" },
      "json, no CSRF header": { "content-type": "application/json" },
      "CSRF header 0": { "content-type": "application/json", "x-studio-csrf": "0" },
      "CSRF header true": { "content-type": "application/json", "x-studio-csrf": "true" },
      "CSRF header, foreign origin": {
        "content-type": "application/json",
        "x-studio-csrf": "1",
        origin: "https://evil.example",
      },
      "CSRF header, opaque origin": {
        "content-type": "application/json",
        "x-studio-csrf": "1",
        origin: "null",
      },
      "CSRF header, look-alike origin": {
        "content-type": "application/json",
        "x-studio-csrf": "1",
        origin: `${studio.url}.evil.example`,
      },
      "CSRF header, userinfo origin": {
        "content-type": "application/json",
        "x-studio-csrf": "1",
        origin: `http://${new URL(studio.url).host}@evil.example`,
      },
    };
    for (const [path, body] of mutations) {
      for (const [kind, headers] of Object.entries(attempts)) {
        const answer = await send(`${studio.url}${path}`, {
          method: "POST",
          headers: { cookie, ...headers },
          body,
        });
        // tRPC refuses a content type it cannot read (415) before it looks at who is calling.
        const expected =
          path.includes("/trpc/") && !headers["content-type"]?.includes("json")
            ? [403, 415]
            : [403];
        expect(answerProblems(answer, { expected, secrets: [SECRET] }), `${path}, ${kind}`).toEqual(
          [],
        );
        figures.add("cross-site mutations refused");
      }
    }
    const signIn = await fetch(`${studio.url}/api/auth/sign-in`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...fromNewAddress() },
      body: `secret=${encodeURIComponent(SECRET)}&name=Mallory`,
    });
    expect(signIn.status).toBe(403);
    expect(signIn.headers.get("set-cookie")).toBeNull();
    await expectUntouched("cross-site");
  });

  it("the same session from Studio's own page works, recording the signed-in actor", async () => {
    const answer = await send(`${studio.url}/api/platform/migrations/apply`, {
      method: "POST",
      headers: {
        cookie,
        "x-studio-csrf": "1",
        origin: studio.url,
        "content-type": "application/json",
      },
      body: '{"migration_name": "007_touch_projects"}',
    });
    expect(answerProblems(answer, { expected: [200] })).toEqual([]);
    const { rows } = await tracking(database.url);
    expect(rows.find((r) => r.migration_name === "007_touch_projects")?.applied_by).toBe("Ada");
    figures.add("session mutations accepted");
  });
});

describe("the deploy script's curl -d", () => {
  it("form-encoded JSON with the secret header applies, recording the actor (SPEC §5)", async () => {
    const answer = await send(`${studio.url}/api/platform/migrations/apply`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-migration-secret": SECRET,
        "x-migration-actor": "deploy 'bot' \\ $$",
      },
      body: '{"migration_name": "008_index_concurrently"}',
    });
    expect(answerProblems(answer, { expected: [200] })).toEqual([]);
    const { rows } = await tracking(database.url);
    expect(rows.map((r) => r.migration_name)).toEqual(MIGRATION_NAMES.slice(0, 8));
    expect(rows.at(-1)).toMatchObject({ status: "applied", applied_by: "deploy 'bot' \\ $$" });
  });
});

describe("the secret in logs and in the CLI", () => {
  it("the CLI refuses a wrong --secret without echoing it, and never prints the right one", async () => {
    const wrong = `${SECRET.slice(0, -1)}${flip(SECRET.slice(-1))}`;
    const refused = await runCli(["status", "--url", studio.url, "--secret", wrong, "--json"]);
    expect(refused.code, describeRun(refused)).not.toBe(0);
    expect(refused.stdout + refused.stderr).not.toContain(wrong);
    expect(refused.stdout + refused.stderr).not.toContain(SECRET);
    const fromEnv = await runCli(["apply", "--url", studio.url, "--dry-run", "--json"], {
      MIGRATION_SECRET: SECRET,
    });
    expect(fromEnv.code, describeRun(fromEnv)).toBe(0);
    expect(fromEnv.stdout + fromEnv.stderr).not.toContain(SECRET);
    // A database URL's password is a secret too.
    const password = "db-pass-4c1e9d";
    const unreachable = await runCli(
      directArgs(["status"], `postgres://postgres:${password}@127.0.0.1:1/x`, dir),
    );
    expect(unreachable.code, describeRun(unreachable)).not.toBe(0);
    expect(unreachable.stdout + unreachable.stderr).not.toContain(password);
    figures.add("CLI runs", 3);
  });

  it("Studio's log never held the secret, a wrong secret, or a stack trace", () => {
    const logs = studio.output();
    expect(logs).not.toContain(SECRET);
    for (const secret of Object.values(WRONG_SECRETS)) {
      if (secret.length >= 8) expect(logs).not.toContain(secret);
    }
    expect(logs).not.toMatch(/\n\s+at /);
    figures.add("secret in logs or responses", 0);
  });
});
