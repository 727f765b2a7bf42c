import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase, type TestDatabase } from "@studio/test-postgres";
import pg from "pg";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, launchChromium, screenshot } from "./browser.ts";
import { type StudioProcess, startStudio } from "./studio-process.ts";

/**
 * The Migrations page's "Adopt history…" dialog and "Roll back to here" row action, in Debian's
 * Chromium against the production build (skipped, saying so, without a Chromium).
 */
const SECRET = "e2e-adopt-secret-3a9e6b0c2d7f4e18";

const FILES: Record<string, string> = {
  "001_create_widgets.sql":
    "-- migrate:up\ncreate table widgets (id int primary key);\n-- migrate:down\ndrop table widgets;\n",
  "002_create_gadgets.sql":
    "-- migrate:up\ncreate table gadgets (id int primary key);\n-- migrate:down\ndrop table gadgets;\n",
  "003_create_sprockets.sql":
    "-- migrate:up\ncreate table sprockets (id int primary key);\n-- migrate:down\ndrop table sprockets;\n",
  "004_create_cogs.sql":
    "-- migrate:up\ncreate table cogs (id int primary key);\n-- migrate:down\ndrop table cogs;\n",
};

describe.skipIf(!CHROMIUM)("Studio in Chromium: adopt and roll back to here", () => {
  let database: TestDatabase;
  let studio: StudioProcess;
  let browser: Browser;
  let page: Page;
  let admin: pg.Client;
  let migrationsDir: string;

  beforeAll(async () => {
    database = await createTestDatabase("studio_e2e_adopt");
    admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    // What dbmate left behind: 001 and 002 applied, recorded in its own table.
    await admin.query(`create table public.schema_migrations (version varchar(128) primary key);
      insert into public.schema_migrations values ('001'), ('002');
      create table widgets (id int primary key); create table gadgets (id int primary key);`);
    migrationsDir = mkdtempSync(join(tmpdir(), "studio-e2e-adopt-"));
    for (const [name, text] of Object.entries(FILES)) {
      writeFileSync(join(migrationsDir, name), text);
    }
    studio = await startStudio({
      DATABASE_URL: database.url,
      MIGRATION_SECRET: SECRET,
      MIGRATIONS_DIR: migrationsDir,
    });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  });
  afterAll(async () => {
    await browser?.close();
    await studio?.stop();
    await admin?.end();
    await database?.drop();
    if (migrationsDir) rmSync(migrationsDir, { recursive: true, force: true });
  });

  const shot = (name: string) => screenshot(page, name);
  const stateOf = (name: string) =>
    page.getByTestId(`migration-row-${name}`).getAttribute("data-state");

  async function statuses(): Promise<Record<string, string>> {
    const { rows } = await admin.query<{ migration_name: string; status: string }>(
      "select migration_name, status from platform.schema_migrations order by 1",
    );
    return Object.fromEntries(rows.map((r) => [r.migration_name, r.status]));
  }

  it("signs in and shows every migration pending", async () => {
    await page.goto(`${studio.url}/`);
    await page.waitForURL(/\/sign-in/);
    await page.getByTestId("signin-secret").fill(SECRET);
    await page.getByTestId("signin-name").fill("Grace Hopper");
    await page.getByTestId("signin-submit").click();
    await page.waitForURL(/\/migrations/);
    await page.getByTestId("migration-row-004_create_cogs").waitFor();
    expect(await stateOf("001_create_widgets")).toBe("pending");
  });

  it("adopts dbmate's history from the header's dialog: 001 and 002 recorded, nothing run", async () => {
    await page.getByTestId("adopt-open").click();
    const dialog = page.getByTestId("adopt-dialog");
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain("dbmate");
    expect(await page.getByTestId("adopt-tool-dbmate").isChecked()).toBe(true);
    await shot("adopt-01-dialog");
    await page.getByTestId("adopt-confirm").click();
    await expect
      .poll(() => page.getByTestId("toast-success").first().textContent(), { timeout: 60_000 })
      .toContain("Adopted 2 migrations from dbmate");
    await expect.poll(() => stateOf("002_create_gadgets")).toBe("applied");
    expect(await stateOf("003_create_sprockets")).toBe("pending");
    expect(await statuses()).toEqual({
      "001_create_widgets": "applied",
      "002_create_gadgets": "applied",
    });
    const { rows } = await admin.query(
      "select action, actor, error_message from platform.schema_migration_events order by id",
    );
    expect(rows).toEqual([
      {
        action: "baseline",
        actor: "Grace Hopper",
        error_message: "adopted from dbmate (public.schema_migrations, version 001)",
      },
      {
        action: "baseline",
        actor: "Grace Hopper",
        error_message: "adopted from dbmate (public.schema_migrations, version 002)",
      },
    ]);
    await shot("adopt-02-adopted");
  });

  it("applies the rest, then rolls back to 002 after confirming each down section", async () => {
    await page.getByTestId("apply-all").click();
    await expect.poll(() => page.getByTestId("confirm-sql").textContent()).toContain("cogs");
    await page.getByTestId("confirm-button").click();
    await expect.poll(() => stateOf("004_create_cogs"), { timeout: 60_000 }).toBe("applied");

    // The newest applied row has its own Roll back; the older ones offer "Roll back to here" in
    // their menus.
    await page.getByTestId("row-menu-004_create_cogs").click();
    await page.getByTestId("menu-view-sql-004_create_cogs").waitFor();
    expect(await page.getByTestId("menu-rollback-to-004_create_cogs").count()).toBe(0);
    await page.keyboard.press("Escape");
    await page.getByTestId("row-menu-002_create_gadgets").click();
    await page.getByTestId("menu-rollback-to-002_create_gadgets").click();
    const sql = page.getByTestId("confirm-sql");
    await expect.poll(() => sql.textContent()).toContain("drop table cogs;");
    expect(await sql.textContent()).toContain("drop table sprockets;");
    expect(await sql.textContent()).not.toContain("drop table gadgets;");
    expect(await page.getByTestId("confirm-button").textContent()).toContain(
      "Roll back 2 migrations",
    );
    await shot("adopt-03-confirm-rollback-to");
    await page.getByTestId("confirm-button").click();
    await expect
      .poll(() => stateOf("003_create_sprockets"), { timeout: 60_000 })
      .toBe("rolled_back");
    expect(await stateOf("004_create_cogs")).toBe("rolled_back");
    expect(await stateOf("002_create_gadgets")).toBe("applied");
    await expect
      .poll(() =>
        page
          .getByTestId("toast-success")
          .filter({ hasText: "Rolled back 2 migrations to 002_create_gadgets" })
          .count(),
      )
      .toBe(1);
    expect(await statuses()).toEqual({
      "001_create_widgets": "applied",
      "002_create_gadgets": "applied",
      "003_create_sprockets": "rolled_back",
      "004_create_cogs": "rolled_back",
    });
    const { rows } = await admin.query(
      "select to_regclass('public.cogs') is null as cogs_gone, to_regclass('public.gadgets') is not null as gadgets_kept",
    );
    expect(rows).toEqual([{ cogs_gone: true, gadgets_kept: true }]);
    await shot("adopt-04-rolled-back-to");
  });
});
