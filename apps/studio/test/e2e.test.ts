import { createTestDatabase, type TestDatabase } from "@studio/test-postgres";
import pg from "pg";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, launchChromium, screenshot } from "./browser.ts";
import { type StudioProcess, startStudio } from "./studio-process.ts";

/**
 * Studio in a real browser: Debian's Chromium, driven by playwright-core, against the production
 * build. Nothing is downloaded; without a Chromium the suite says it skipped.
 */
const SECRET = "e2e-secret-71d0c4a9b2e85f36d17a20";
const LAST = "008_add_active_org_tracking";

describe.skipIf(!CHROMIUM)("Studio in Chromium", () => {
  let database: TestDatabase;
  let studio: StudioProcess;
  let browser: Browser;
  let page: Page;
  let admin: pg.Client;

  beforeAll(async () => {
    database = await createTestDatabase("studio_e2e");
    studio = await startStudio({ DATABASE_URL: database.url, MIGRATION_SECRET: SECRET });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
  });
  afterAll(async () => {
    await browser?.close();
    await studio?.stop();
    await admin?.end();
    await database?.drop();
  });

  const shot = (name: string) => screenshot(page, name);

  it("sends a visitor to sign in, and says clearly when the secret is wrong", async () => {
    await page.goto(`${studio.url}/`);
    await page.waitForURL(/\/sign-in/);
    await page.getByTestId("signin-secret").fill("not the secret");
    await page.getByTestId("signin-name").fill("Ada Lovelace");
    await page.getByTestId("signin-submit").click();
    await expect
      .poll(() => page.getByTestId("signin-error").textContent())
      .toContain("That secret was not accepted.");
    expect(await page.content()).not.toContain(SECRET);
    await shot("01-sign-in-wrong-secret");
  });

  it("signs in and shows every migration pending", async () => {
    await page.getByTestId("signin-secret").fill(SECRET);
    await page.getByTestId("signin-submit").click();
    await page.waitForURL(/\/migrations/);
    await expect.poll(() => page.getByTestId("actor-name").textContent()).toContain("Ada Lovelace");
    await page.getByTestId(`migration-row-${LAST}`).waitFor();
    expect(await page.getByTestId(`migration-row-${LAST}`).getAttribute("data-state")).toBe(
      "pending",
    );
    await shot("02-pending");
  });

  it("shows a pending migration's SQL on demand", async () => {
    await page.getByTestId(`view-sql-${LAST}`).click();
    const dialog = page.getByRole("dialog");
    await expect.poll(() => dialog.textContent()).toContain("active_org_id");
    await shot("03-view-sql");
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
  });

  it("applies all pending after a confirmation that shows the exact SQL, recording the signed-in name", async () => {
    await page.getByTestId("apply-all").click();
    const sql = page.getByTestId("confirm-sql");
    await expect
      .poll(() => sql.textContent())
      .toContain("create table if not exists platform.schema_migrations");
    await shot("04-confirm-apply-all");
    await page.getByTestId("confirm-button").click();
    await expect
      .poll(() => page.getByTestId(`migration-row-${LAST}`).getAttribute("data-state"), {
        timeout: 60_000,
      })
      .toBe("applied");
    expect(await page.getByTestId(`migration-row-${LAST}`).textContent()).toContain("Ada Lovelace");
    const { rows } = await admin.query(
      "select distinct applied_by from platform.schema_migrations",
    );
    expect(rows).toEqual([{ applied_by: "Ada Lovelace" }]);
    await shot("05-applied");
  });

  it("rolls back 008 after confirming its down SQL, and shows it in the history", async () => {
    await page.getByTestId(`rollback-${LAST}`).click();
    await expect
      .poll(() => page.getByTestId("confirm-sql").textContent())
      .toContain("drop function");
    await page.getByTestId("confirm-button").click();
    await expect
      .poll(() => page.getByTestId(`migration-row-${LAST}`).getAttribute("data-state"), {
        timeout: 60_000,
      })
      .toBe("rolled_back");
    const { rows } = await admin.query(
      "select status, rolled_back_by from platform.schema_migrations where migration_name = $1",
      [LAST],
    );
    expect(rows).toEqual([{ status: "rolled_back", rolled_back_by: "Ada Lovelace" }]);
    await expect
      .poll(() => page.getByTestId("history-row").first().textContent())
      .toMatch(/rollback/i);
    expect(await page.getByTestId("history-row").first().textContent()).toContain("Ada Lovelace");
    await shot("06-rolled-back-history");
  });

  it("fits a phone's width without horizontal overflow", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await page.getByTestId(`migration-row-${LAST}`).waitFor();
    const overflow = await page.evaluate(
      () => document.documentElement.scrollWidth - window.innerWidth,
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await shot("07-phone");
  });
});
