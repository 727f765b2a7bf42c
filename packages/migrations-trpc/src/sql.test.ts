import { loadMigrationTexts, type MigrationText } from "@studio/migrations-core";
import { createMemoryDatabase, MemoryExecutor } from "@studio/migrations-core/testing";
import { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { describe, expect, it } from "vitest";
import { createMigrationsRouter } from "./router.ts";
import { createCallerFactory } from "./trpc.ts";

// `migrations.sql`: what the page reads on demand — a migration's file sections and the up section
// as it ran — since `list` carries no SQL.

const UP = "CREATE TABLE widgets (id int);";
const DOWN = "DROP TABLE widgets;\n";
const widgets = (up = UP): MigrationText => ({
  name: "001_widgets",
  sql: `-- migrate:up\n${up}\n-- migrate:down\n${DOWN}`,
});

function setup() {
  const database = createMemoryDatabase();
  const disk = [widgets()];
  const router = createMigrationsRouter({
    executor: new MemoryExecutor({ database }),
    source: { load: async () => loadMigrationTexts(disk) },
    lockTimeoutMs: 100,
  });
  const caller = (actor: string | null = "ops") => {
    const { migrations } = createCallerFactory(router)({ actor });
    return {
      sql: migrations.sql,
      list: migrations.list,
      apply: (input: Parameters<typeof migrations.apply>[0]) =>
        migrations.apply.call(undefined, input),
    };
  };
  return { caller, disk, database };
}

async function statusOf(promise: Promise<unknown>): Promise<number> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof TRPCError) return getHTTPStatusCodeFromError(error);
    throw error;
  }
  throw new Error("expected a rejection");
}

describe("migrations.sql", () => {
  it("answers the file's sections and, once applied, the up section as it ran", async () => {
    const { caller, disk } = setup();
    expect(await caller().sql({ migrationName: "001_widgets" })).toMatchObject({
      up: UP,
      down: DOWN,
      recordedUp: null,
      recordedUpReadable: true,
    });
    await caller().apply({});
    disk[0] = widgets("CREATE TABLE widgets (id bigint);");
    expect(await caller().sql({ migrationName: "001_widgets" })).toMatchObject({
      up: "CREATE TABLE widgets (id bigint);",
      recordedUp: UP,
    });
  });

  it("keeps the SQL out of list", async () => {
    const { caller } = setup();
    const report = await caller().list();
    expect(JSON.stringify(report)).not.toContain(UP);
  });

  it("is 404 for an unknown migration, 400 for a malformed name or an unknown field, 401 unauthenticated", async () => {
    const { caller } = setup();
    expect(await statusOf(caller().sql({ migrationName: "999_none" }))).toBe(404);
    expect(await statusOf(caller().sql({ migrationName: "../secrets" }))).toBe(400);
    expect(
      await statusOf(
        caller().sql({ migrationName: "001_widgets", path: "/etc" } as unknown as {
          migrationName: string;
        }),
      ),
    ).toBe(400);
    expect(await statusOf(caller(null).sql({ migrationName: "001_widgets" }))).toBe(401);
  });
});
