import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createTestDatabase,
  type PgMetaServer,
  startPgMeta,
  type TestDatabase,
} from "@studio/test-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  eventually,
  listStatus,
  logLines,
  sessionCookie,
  sessionStatus,
  signIn,
  signOut,
} from "./auth-helpers.ts";
import { type StudioProcess, startStudio } from "./studio-process.ts";

const SECRET = "auth-test-secret-0b7d2f94c1e6a853"; // 33 characters
const ROTATED = "auth-test-rotated-5e1c9a07d3f2b648";
/** Distinct wrong guesses, so that a log line holding any of them would be found. */
const guess = (i: number) => `wrong-guess-${i}-7c3e91d0a4b5f826e`;

async function query<R extends pg.QueryResultRow>(
  url: string,
  sql: string,
  parameters: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(sql, parameters)).rows;
  } finally {
    await client.end();
  }
}

describe("sessions across two Studio replicas on one PostgreSQL database", () => {
  let database: TestDatabase;
  let a: StudioProcess;
  let b: StudioProcess;

  beforeAll(async () => {
    database = await createTestDatabase("studio_auth_sessions");
    const env = { DATABASE_URL: database.url, MIGRATION_SECRET: SECRET };
    [a, b] = await Promise.all([startStudio(env), startStudio(env)]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
  });

  it("a session made on replica A works on B; signing out on A ends it on B as well", async () => {
    const signedIn = await signIn(a, SECRET, { name: "Grace Hopper" });
    expect(signedIn.status).toBe(204);
    const cookie = sessionCookie(signedIn);
    expect(await sessionStatus(b, cookie)).toBe(200);
    expect(await listStatus(b, cookie)).toBe(200);

    // The session is a row in the shared database, keyed by a hash of an id the cookie seals.
    const sessions = await query<{ id_hash: string }>(
      database.url,
      "select id_hash from studio_auth.sessions where actor = $1",
      ["Grace Hopper"],
    );
    expect(sessions).toHaveLength(1);
    expect(cookie).not.toContain(sessions[0]?.id_hash);

    const out = await signOut(a, cookie);
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie().join()).toMatch(/studio_session=;.*Max-Age=0/);

    expect(await sessionStatus(b, cookie)).toBe(401);
    expect(await listStatus(b, cookie)).toBe(401);
    expect(await sessionStatus(a, cookie)).toBe(401);
    expect(
      await query(database.url, "select 1 from studio_auth.sessions where actor = $1", [
        "Grace Hopper",
      ]),
    ).toEqual([]);
    expect(logLines(a, "auth_signed_out")).toEqual([
      expect.objectContaining({ actor: "Grace Hopper", address: "127.0.0.1" }),
    ]);
  });

  it("signing out ends only that session: another browser's stays signed in", async () => {
    const first = sessionCookie(await signIn(a, SECRET, { name: "Ada" }));
    const second = sessionCookie(await signIn(b, SECRET, { name: "Ada" }));
    expect((await signOut(b, first)).status).toBe(204);
    expect(await sessionStatus(a, first)).toBe(401);
    expect(await sessionStatus(a, second)).toBe(200);
    expect(await sessionStatus(b, second)).toBe(200);
  });

  it("a signed-out cookie cannot change anything either, even with the CSRF header", async () => {
    const cookie = sessionCookie(await signIn(b, SECRET));
    expect((await signOut(b, cookie)).status).toBe(204);
    const apply = await fetch(`${a.url}/api/platform/migrations/apply`, {
      method: "POST",
      headers: { cookie, "x-studio-csrf": "1", "content-type": "application/json" },
      body: "{}",
    });
    expect(apply.status).toBe(401);
    // Nothing was applied: no platform table beside the tracking tables exists.
    expect(
      await query(
        database.url,
        "select tablename from pg_tables where schemaname = 'platform' and tablename not like 'schema_migration%'",
      ),
    ).toEqual([]);
  });

  it("rotating the secret ends every session", async () => {
    const cookie = sessionCookie(await signIn(a, SECRET, { name: "Linus" }));
    expect(await sessionStatus(b, cookie)).toBe(200);

    await Promise.all([a.stop(), b.stop()]);
    const env = { DATABASE_URL: database.url, MIGRATION_SECRET: ROTATED };
    [a, b] = await Promise.all([startStudio(env), startStudio(env)]);

    // The session's row is still there (it expires on its own), but the cookie cannot be
    // opened under the new secret.
    expect(
      await query(database.url, "select 1 from studio_auth.sessions where actor = 'Linus'"),
    ).toHaveLength(1);
    expect(await sessionStatus(a, cookie)).toBe(401);
    expect(await listStatus(b, cookie)).toBe(401);
    expect((await signIn(a, SECRET)).status).toBe(401);
    const fresh = await signIn(a, ROTATED);
    expect(fresh.status).toBe(204);
    expect(await sessionStatus(b, sessionCookie(fresh))).toBe(200);
  });
});

describe("wrong secrets are throttled per address and logged", () => {
  let database: TestDatabase;
  /** Trusts no proxy: the address is the socket's, 127.0.0.1. */
  let direct: StudioProcess;
  /** Behind a proxy it trusts (127.0.0.1): the address is X-Forwarded-For's. */
  let proxied: StudioProcess;

  beforeAll(async () => {
    database = await createTestDatabase("studio_auth_throttle");
    [direct, proxied] = await Promise.all([
      startStudio({ DATABASE_URL: database.url, MIGRATION_SECRET: SECRET }),
      startStudio({
        DATABASE_URL: database.url,
        MIGRATION_SECRET: SECRET,
        STUDIO_TRUSTED_PROXIES: "127.0.0.1, ::1",
      }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([direct?.stop(), proxied?.stop()]);
    await database?.drop();
  });

  const tally = async (address: string) =>
    Number(
      (
        await query<{ n: number }>(
          database.url,
          "select count(*)::int as n from studio_auth.wrong_secrets where address = $1",
          [address],
        )
      )[0]?.n,
    );

  it("10 wrong secrets get 401; the 11th sign-in gets 429 with Retry-After, and so does the right secret", async () => {
    for (let i = 1; i <= 10; i++) {
      const answer = await signIn(direct, guess(i));
      expect(answer.status, `wrong secret ${i}`).toBe(401);
    }
    const eleventh = await signIn(direct, guess(11));
    expect(eleventh.status).toBe(429);
    const retryAfter = Number(eleventh.headers.get("retry-after"));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThan(540);
    expect(retryAfter).toBeLessThanOrEqual(600);
    expect(((await eleventh.json()) as { error: string }).error).toMatch(
      /^Too many wrong secrets from your address: try again in 10 minutes\.$/,
    );

    const right = await signIn(direct, SECRET);
    expect(right.status).toBe(429);
    expect(Number(right.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(right.headers.getSetCookie()).toEqual([]);

    // The tally is in the shared database: the other replica refuses the address too.
    expect((await signIn(proxied, SECRET)).status).toBe(429);
    expect(await tally("127.0.0.1")).toBe(10);
  });

  it("logs each wrong secret as one structured line, never a secret, right or wrong", () => {
    const wrong = logLines(direct, "auth_wrong_secret").filter((l) => l.via === "sign-in");
    expect(wrong).toHaveLength(10);
    expect(wrong.map((l) => l.failures)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (const line of wrong) {
      expect(line).toEqual({
        ts: expect.any(String),
        level: "warn",
        event: "auth_wrong_secret",
        via: "sign-in",
        address: "127.0.0.1",
        failures: expect.any(Number),
      });
    }
    expect(logLines(direct, "auth_throttled")).toEqual([
      expect.objectContaining({ address: "127.0.0.1", retryAfterSeconds: expect.any(Number) }),
      expect.objectContaining({ address: "127.0.0.1", retryAfterSeconds: expect.any(Number) }),
    ]);
    const output = direct.output() + proxied.output();
    expect(output).not.toContain(SECRET);
    for (let i = 1; i <= 11; i++) expect(output).not.toContain(guess(i));
  });

  it("a throttled address's header calls keep their answers: 401 for a wrong secret (logged), 200 for the right one", async () => {
    const wrong = await fetch(`${direct.url}/api/platform/migrations`, {
      headers: { "x-migration-secret": guess(12) },
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: "The migration secret was not accepted." });
    const right = await fetch(`${direct.url}/api/platform/migrations`, {
      headers: { "x-migration-secret": SECRET },
    });
    expect(right.status).toBe(200);

    const logged = await eventually(
      () => logLines(direct, "auth_wrong_secret").filter((l) => l.via === "header"),
      (lines) => lines.length === 1,
    );
    expect(logged).toEqual([
      expect.objectContaining({ via: "header", address: "127.0.0.1", failures: 11 }),
    ]);
    expect(direct.output()).not.toContain(guess(12));
  });

  it("does not believe X-Forwarded-For from a proxy it was not told to trust", async () => {
    const spoofed = await signIn(direct, SECRET, {
      headers: { "x-forwarded-for": "198.51.100.7" },
    });
    expect(spoofed.status).toBe(429);
    expect(await tally("198.51.100.7")).toBe(0);
  });

  it("behind a trusted proxy, each client address has a tally of its own", async () => {
    const client = { "x-forwarded-for": "203.0.113.10" };
    expect((await signIn(proxied, guess(13), { headers: client })).status).toBe(401);
    expect(await tally("203.0.113.10")).toBe(1);
    const right = await signIn(proxied, SECRET, { headers: client });
    expect(right.status).toBe(204);
    // The right secret does not count against the address.
    expect(await tally("203.0.113.10")).toBe(1);
    // The proxy's own hop is skipped; the first untrusted hop from the right is the client.
    const chained = await signIn(proxied, guess(14), {
      headers: { "x-forwarded-for": "198.51.100.99, 203.0.113.11, 127.0.0.1" },
    });
    expect(chained.status).toBe(401);
    expect(await tally("203.0.113.11")).toBe(1);
    expect(await tally("198.51.100.99")).toBe(0);
  });

  it("30 concurrent wrong sign-ins from one address: exactly 10 are compared, 20 get 429", async () => {
    const client = { "x-forwarded-for": "203.0.113.20" };
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => signIn(proxied, guess(100 + i), { headers: client })),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(20);
    expect(await tally("203.0.113.20")).toBe(10);
  });

  it("wrong secrets sent as x-migration-secret count toward the address's tally, each still a 401", async () => {
    const client = { "x-forwarded-for": "203.0.113.30" };
    for (let i = 0; i < 10; i++) {
      const answer = await fetch(`${proxied.url}/api/platform/migrations`, {
        headers: { "x-migration-secret": guess(200 + i), ...client },
      });
      expect(answer.status).toBe(401);
    }
    // Counted after the answer, so that counting cannot change it.
    expect(
      await eventually(
        () => tally("203.0.113.30"),
        (n) => n === 10,
      ),
    ).toBe(10);
    const right = await signIn(proxied, SECRET, { headers: client });
    expect(right.status).toBe(429);
  });
});

describe("sessions end for real on the embedded database and on postgres-meta too", () => {
  let database: TestDatabase;
  let pgMeta: PgMetaServer;
  let dataDir: string;

  beforeAll(async () => {
    database = await createTestDatabase("studio_auth_pgmeta");
    pgMeta = await startPgMeta(database.url);
    dataDir = mkdtempSync(join(tmpdir(), "studio-auth-pglite-"));
  });
  afterAll(async () => {
    await pgMeta?.stop();
    await database?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  async function signInAndOut(studio: StudioProcess) {
    expect((await signIn(studio, guess(300))).status).toBe(401);
    const cookie = sessionCookie(await signIn(studio, SECRET, { name: "Margaret" }));
    expect(await sessionStatus(studio, cookie)).toBe(200);
    expect((await signOut(studio, cookie)).status).toBe(204);
    expect(await sessionStatus(studio, cookie)).toBe(401);
    expect(await listStatus(studio, cookie)).toBe(401);
  }

  it("postgres-meta: the tables are made over /query, and signing out ends the session", async () => {
    const studio = await startStudio({ PG_META_URL: pgMeta.url, MIGRATION_SECRET: SECRET });
    try {
      await signInAndOut(studio);
      expect(
        await query(
          database.url,
          "select actor from studio_auth.sessions where actor = 'Margaret'",
        ),
      ).toEqual([]);
      expect(
        await query(database.url, "select via from studio_auth.wrong_secrets where address = $1", [
          "127.0.0.1",
        ]),
      ).toEqual([{ via: "sign-in" }]);
    } finally {
      await studio.stop();
    }
  });

  it("with the database gone, sign-in and sessions answer 503, and a wrong header secret still 401", async () => {
    const studio = await startStudio({ PG_META_URL: pgMeta.url, MIGRATION_SECRET: SECRET });
    try {
      const cookie = sessionCookie(await signIn(studio, SECRET));
      await pgMeta.stop();
      const signInAnswer = await signIn(studio, SECRET);
      expect(signInAnswer.status).toBe(503);
      expect(signInAnswer.headers.getSetCookie()).toEqual([]);
      expect(await sessionStatus(studio, cookie)).toBe(503);
      expect(await listStatus(studio, cookie)).toBe(503);
      const wrong = await fetch(`${studio.url}/api/platform/migrations`, {
        headers: { "x-migration-secret": guess(301) },
      });
      expect(wrong.status).toBe(401);
      expect(await wrong.json()).toEqual({ error: "The migration secret was not accepted." });
      // Logged even though it could not be counted.
      const logged = await eventually(
        () => logLines(studio, "auth_wrong_secret").filter((l) => l.via === "header"),
        (lines) => lines.length === 1,
      );
      expect(logged).toEqual([expect.objectContaining({ failures: null })]);
      expect(studio.output()).not.toContain(SECRET);
    } finally {
      await studio.stop();
    }
  });

  it("PGlite: signing out ends the session, and a restart does not bring it back", async () => {
    const env = { STUDIO_DATA_DIR: dataDir, MIGRATION_SECRET: SECRET };
    let studio = await startStudio(env);
    let kept = "";
    let ended = "";
    try {
      await signInAndOut(studio);
      kept = sessionCookie(await signIn(studio, SECRET, { name: "Barbara" }));
      ended = sessionCookie(await signIn(studio, SECRET, { name: "Barbara" }));
      expect((await signOut(studio, ended)).status).toBe(204);
    } finally {
      await studio.stop();
    }
    studio = await startStudio(env);
    try {
      // Sessions live in the database, not in the process: one survives a restart, and the
      // signed-out one stays ended.
      expect(await sessionStatus(studio, kept)).toBe(200);
      expect(await sessionStatus(studio, ended)).toBe(401);
    } finally {
      await studio.stop();
    }
  });
});
