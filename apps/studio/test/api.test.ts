import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isValidActor, MAX_ACTOR_LENGTH } from "@studio/migrations-core/rules";
import { createTestDatabase, type TestDatabase } from "@studio/test-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type StudioProcess, startStudio } from "./studio-process.ts";

const SECRET = "api-test-secret-5b2e8c41f09a7d36";
const REPO_MIGRATIONS = fileURLToPath(new URL("../../../migrations/", import.meta.url));

let database: TestDatabase;
let studio: StudioProcess;
let admin: pg.Client;
let migrationsDir: string;

beforeAll(async () => {
  database = await createTestDatabase("studio_api");
  // A copy of the platform migrations, so one test can add a broken one.
  migrationsDir = mkdtempSync(join(tmpdir(), "studio-api-migrations-"));
  cpSync(REPO_MIGRATIONS, migrationsDir, { recursive: true });
  studio = await startStudio({
    DATABASE_URL: database.url,
    MIGRATION_SECRET: SECRET,
    MIGRATIONS_DIR: migrationsDir,
  });
  admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
});
afterAll(async () => {
  await studio?.stop();
  await admin?.end();
  await database?.drop();
  rmSync(migrationsDir, { recursive: true, force: true });
});

/** `curl -X POST … -H "x-migration-secret: …" -d '…'`: curl labels `-d` bodies as form data. */
function curlPost(
  path: string,
  body: string,
  headers: Record<string, string> = { "x-migration-secret": SECRET },
) {
  return fetch(`${studio.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body,
  });
}

describe("Studio's REST contract against PostgreSQL", () => {
  it("runs the deploy script's curl flow: 008 on a database with 000–007 applied", async () => {
    const upTo007 = await curlPost(
      "/api/platform/migrations/apply",
      '{"up_to": "007_create_audit_logs"}',
    );
    expect(upTo007.status).toBe(200);

    const apply = await curlPost(
      "/api/platform/migrations/apply",
      '{"migration_name": "008_add_active_org_tracking"}',
      {
        "x-migration-secret": SECRET,
        "x-migration-actor": "deploy-script",
      },
    );
    expect(apply.status).toBe(200);
    const applied = (await apply.json()) as {
      results: { migration_name: string; status: string; execution_time_ms: number }[];
    };
    expect(applied.results).toEqual([
      {
        migration_name: "008_add_active_org_tracking",
        status: "applied",
        execution_time_ms: expect.any(Number),
      },
    ]);

    const list = await fetch(`${studio.url}/api/platform/migrations`, {
      headers: { "x-migration-secret": SECRET },
    });
    expect(list.status).toBe(200);
    const state = (await list.json()) as {
      applied: { migration_name: string; applied_by: string; applied_at: string }[];
      pending: unknown[];
      problems: unknown[];
    };
    expect(state.pending).toEqual([]);
    expect(state.problems).toEqual([]);
    const row008 = state.applied.find((m) => m.migration_name === "008_add_active_org_tracking");
    expect(row008?.applied_by).toBe("deploy-script");
    expect(Date.now() - Date.parse(row008?.applied_at ?? "")).toBeLessThan(60_000);

    const again = await curlPost(
      "/api/platform/migrations/apply",
      '{"migration_name": "008_add_active_org_tracking"}',
    );
    expect(again.status).toBe(200);
    expect(((await again.json()) as { results: { status: string }[] }).results).toMatchObject([
      { status: "already_applied" },
    ]);

    const wrong = await curlPost(
      "/api/platform/migrations/apply",
      '{"migration_name": "008_add_active_org_tracking"}',
      {
        "x-migration-secret": "wrong",
      },
    );
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).not.toContain(SECRET);

    const { rows } = await admin.query(
      "select count(*)::int as n from platform.schema_migration_events where migration_name = '008_add_active_org_tracking'",
    );
    expect(rows[0].n).toBe(1);
  });

  it("keeps POST /api/migrations/apply-008 as a fallback that goes through the engine", async () => {
    const response = await curlPost("/api/migrations/apply-008", "");
    expect(response.status).toBe(200);
    expect(((await response.json()) as { results: { status: string }[] }).results).toMatchObject([
      { status: "already_applied" },
    ]);
  });

  it("answers bad input, unknown names and refusals with their statuses", async () => {
    const cases: [string, string, number][] = [
      ["/api/platform/migrations/apply", '{"migrationName": "008_add_active_org_tracking"}', 400],
      ["/api/platform/migrations/apply", '{"migration_name": "../../etc/passwd"}', 400],
      ["/api/platform/migrations/apply", "{not json", 400],
      ["/api/platform/migrations/apply", '{"migration_name": "099_nothing"}', 404],
      ["/api/platform/migrations/rollback", '{"migration_name": "001_create_organizations"}', 412],
      [
        "/api/platform/migrations/rollback",
        '{"migration_name": "008_add_active_org_tracking", "dry_run": true}',
        200,
      ],
    ];
    for (const [path, body, status] of cases) {
      const response = await curlPost(path, body);
      const text = await response.text();
      expect([path, body, response.status]).toEqual([path, body, status]);
      expect(text).not.toMatch(/\n\s+at /);
    }
    expect(
      (
        await fetch(`${studio.url}/api/platform/migrations/apply`, {
          headers: { "x-migration-secret": SECRET },
        })
      ).status,
    ).toBe(405);
  });

  it("answers 422 naming the migration and carrying the Postgres message when its SQL fails", async () => {
    writeFileSync(
      join(migrationsDir, "009_broken.sql"),
      "-- migrate:up\nCREATE TABLE platform.broken (id int);\nSELECT * FROM platform.nowhere;\n",
    );
    try {
      const response = await curlPost("/api/platform/migrations/apply", "{}");
      expect(response.status).toBe(422);
      const body = (await response.json()) as Record<string, unknown>;
      expect(body).toMatchObject({
        code: "MIGRATION_FAILED",
        migration_name: "009_broken",
        postgres_error: { code: "42P01", message: 'relation "platform.nowhere" does not exist' },
      });
      const { rows } = await admin.query(
        "select status from platform.schema_migrations where migration_name = '009_broken'",
      );
      expect(rows).toEqual([{ status: "failed" }]);
      expect(
        (await admin.query("select to_regclass('platform.broken') as t")).rows[0].t,
      ).toBeNull();
    } finally {
      rmSync(join(migrationsDir, "009_broken.sql"));
    }
  });

  it("signs a browser in with a session cookie, and refuses its mutations without the CSRF header", async () => {
    const wrong = await fetch(`${studio.url}/api/auth/sign-in`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-studio-csrf": "1" },
      body: JSON.stringify({ secret: "nope", name: "Ada" }),
    });
    expect(wrong.status).toBe(401);

    const signIn = await fetch(`${studio.url}/api/auth/sign-in`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-studio-csrf": "1" },
      body: JSON.stringify({ secret: SECRET, name: "Ada Lovelace" }),
    });
    expect(signIn.status).toBe(204);
    const setCookie = signIn.headers.get("set-cookie") ?? "";
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    const cookie = setCookie.split(";")[0] as string;

    const session = await fetch(`${studio.url}/api/auth/session`, { headers: { cookie } });
    expect(await session.json()).toEqual({ actor: "Ada Lovelace" });
    expect(
      (await fetch(`${studio.url}/api/platform/migrations`, { headers: { cookie } })).status,
    ).toBe(200);

    const forged = await curlPost("/api/platform/migrations/apply", "{}", { cookie });
    expect(forged.status).toBe(403);
    const crossSite = await curlPost("/api/platform/migrations/apply", "{}", {
      cookie,
      "x-studio-csrf": "1",
      origin: "https://evil.example",
    });
    expect(crossSite.status).toBe(403);
    const tampered = cookie.replace(/.$/, (c) => (c === "A" ? "B" : "A"));
    expect(
      (await fetch(`${studio.url}/api/platform/migrations`, { headers: { cookie: tampered } }))
        .status,
    ).toBe(401);

    const own = await fetch(`${studio.url}/api/platform/migrations/apply`, {
      method: "POST",
      headers: {
        cookie,
        "x-studio-csrf": "1",
        "content-type": "application/json",
        origin: studio.url,
      },
      body: JSON.stringify({ dry_run: true }),
    });
    expect(own.status).toBe(200);
  });

  it("takes the actors every other face takes, from sign-in and from x-migration-actor alike", async () => {
    const longest = "x".repeat(MAX_ACTOR_LENGTH);
    for (const actor of [longest, `${longest}x`, "ops\tteam"]) {
      const valid = isValidActor(actor);
      const signIn = await fetch(`${studio.url}/api/auth/sign-in`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-studio-csrf": "1" },
        body: JSON.stringify({ secret: SECRET, name: actor }),
      });
      expect(signIn.status, `sign-in as ${actor.slice(0, 12)}…`).toBe(valid ? 204 : 400);
      const header = await fetch(`${studio.url}/api/platform/migrations`, {
        headers: { "x-migration-secret": SECRET, "x-migration-actor": actor },
      });
      expect(header.status, `x-migration-actor ${actor.slice(0, 12)}…`).toBe(valid ? 200 : 400);
    }
  });

  it("reports health without a secret: 200 while the database answers", async () => {
    const response = await fetch(`${studio.url}/api/health`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });
});

describe("Studio's configuration", () => {
  it("refuses to start in production against a real database without MIGRATION_SECRET", async () => {
    await expect(startStudio({ DATABASE_URL: database.url })).rejects.toThrow(
      /MIGRATION_SECRET is required in production/,
    );
  });
});

describe("Studio with its database down", () => {
  it("answers /api/health with 503 and nothing more", async () => {
    const down = await startStudio({
      DATABASE_URL: "postgres://postgres@127.0.0.1:1/nothing",
      MIGRATION_SECRET: SECRET,
    });
    try {
      const response = await fetch(`${down.url}/api/health`);
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ ok: false });
    } finally {
      await down.stop();
    }
  });
});

describe("MIGRATIONS_AUTO_APPLY", () => {
  it("has exactly one of two replicas starting together apply each migration; both then serve", async () => {
    const shared = await createTestDatabase("studio_auto_apply");
    const env = {
      DATABASE_URL: shared.url,
      MIGRATION_SECRET: SECRET,
      MIGRATIONS_AUTO_APPLY: "true",
    };
    const replicas = await Promise.all([startStudio(env), startStudio(env)]);
    const client = new pg.Client({ connectionString: shared.url });
    await client.connect();
    try {
      for (const replica of replicas)
        expect((await fetch(`${replica.url}/api/health`)).status).toBe(200);
      const { rows } = await client.query(
        "select migration_name, count(*)::int as n from platform.schema_migration_events where action = 'apply' group by 1 order by 1",
      );
      expect(rows).toHaveLength(9);
      expect(rows.every((r) => r.n === 1)).toBe(true);
      const logs = replicas.map((r) => r.output()).join("\n");
      expect(logs).toContain('"event":"migration_attempt"');
      expect(logs).not.toContain(SECRET);
    } finally {
      await client.end();
      await Promise.all(replicas.map((r) => r.stop()));
      await shared.drop();
    }
  });
});
