import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestDatabase, getTestServer, query, type TestDatabase } from "@studio/test-postgres";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, launchChromium, screenshot, signIn } from "./browser.ts";
import { type StudioProcess, startStudio } from "./studio-process.ts";

/**
 * The Migrations page as an operator lives with it, in Chromium against the production build and
 * a real PostgreSQL: live and honest state (stale when the database goes away, drift found without
 * a reload), outcomes as toasts in view, every row's actions reachable at 1280, 1440 and 390 px
 * with a 200-character name in the list, SQL on demand, baseline, the sidebar, the 404, time zones.
 */

const SECRET = "e2e-operator-secret-5c1f0e7a92b34d68a1f0";
const ACTOR = "Katherine Johnson";
/** Tokyo has no daylight saving time: its zone reads the same all year ("GMT+9" in en-US). */
const TIME_ZONE = "Asia/Tokyo";

/** The longest name a migration may have (SPEC §2): 200 characters. */
const LONG = `007_${"add_an_exceptionally_descriptive_migration_name_".repeat(4)}`.slice(0, 200);
const NAMES = [
  "001_create_regions",
  "002_create_zones",
  "003_create_racks",
  "004_create_hosts",
  "005_create_disks",
  "006_create_volumes",
  LONG,
  "008_create_snapshots",
  "009_create_backups",
  "010_create_restores",
  "011_create_alerts",
  "012_create_incidents",
  "013_create_runbooks",
  "014_create_oncall",
];
const FIRST = NAMES[0] as string;
const THIRD = NAMES[2] as string;
const FIFTH = NAMES[4] as string;
const LAST = NAMES.at(-1) as string;

const tableOf = (name: string) => `op_${name.slice(0, 3)}`;
const upOf = (name: string, extra = "") =>
  `create table ${tableOf(name)} (id int primary key${extra});`;
const fileOf = (name: string, extra = "") =>
  `-- migrate:up\n${upOf(name, extra)}\n-- migrate:down\ndrop table ${tableOf(name)};\n`;

describe.skipIf(!CHROMIUM)("Studio in Chromium: the operator's Migrations page", () => {
  let database: TestDatabase;
  let adminUrl: string;
  let studio: StudioProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let migrationsDir: string;

  const sql = <R extends Record<string, unknown>>(text: string, params: unknown[] = []) =>
    query<R>(database.url, text, params);
  const row = (name: string) => page.getByTestId(`migration-row-${name}`);
  const stateOf = (name: string) => row(name).getAttribute("data-state");

  beforeAll(async () => {
    database = await createTestDatabase("studio_e2e_operator");
    adminUrl = (await getTestServer()).adminUrl;
    migrationsDir = mkdtempSync(join(tmpdir(), "studio-e2e-operator-"));
    for (const name of NAMES) writeFileSync(join(migrationsDir, `${name}.sql`), fileOf(name));
    studio = await startStudio({
      DATABASE_URL: database.url,
      MIGRATION_SECRET: SECRET,
      MIGRATIONS_DIR: migrationsDir,
    });
    browser = await launchChromium();
    context = await browser.newContext({
      viewport: { width: 1280, height: 800 },
      timezoneId: TIME_ZONE,
      locale: "en-US",
    });
    page = await context.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await studio?.stop();
    if (database) {
      // In case a test stopped while the database refused connections.
      await query(adminUrl, `alter database ${database.name} allow_connections true`).catch(
        () => {},
      );
      await database.drop();
    }
    if (migrationsDir) rmSync(migrationsDir, { recursive: true, force: true });
  });

  /** `inner`'s box lies inside `outer`'s (both as laid out on screen now), within 1 px. */
  async function expectInside(inner: Locator, outer: Locator | { width: number; height: number }) {
    const box = await inner.boundingBox();
    const frame =
      "width" in outer
        ? { x: 0, y: 0, width: outer.width, height: outer.height }
        : await outer.boundingBox();
    expect(box, "the element is laid out").not.toBeNull();
    expect(frame, "its frame is laid out").not.toBeNull();
    if (!box || !frame) return;
    expect(box.x).toBeGreaterThanOrEqual(frame.x - 1);
    expect(box.y).toBeGreaterThanOrEqual(frame.y - 1);
    expect(box.x + box.width).toBeLessThanOrEqual(frame.x + frame.width + 1);
    expect(box.y + box.height).toBeLessThanOrEqual(frame.y + frame.height + 1);
  }

  /** Whether `inner` lies inside the viewport now: for what slides in (a toast), poll it. */
  async function inViewport(inner: Locator, width: number, height: number): Promise<boolean> {
    const box = await inner.boundingBox();
    if (!box) return false;
    return (
      box.x >= -1 &&
      box.y >= -1 &&
      box.x + box.width <= width + 1 &&
      box.y + box.height <= height + 1
    );
  }

  /** Opens a row's "⋯" menu and chooses an item. */
  async function choose(name: string, item: string) {
    await page.getByTestId(`row-menu-${name}`).click();
    await page.getByTestId(`menu-${item}-${name}`).click();
  }

  it("signs in, and moves between Home and Migrations through the sidebar", async () => {
    await page.goto(`${studio.url}/`, { waitUntil: "load" });
    await page.waitForURL(/\/sign-in/);
    await signIn(page, studio.url, SECRET, ACTOR);
    await row(LAST).waitFor();

    const sidebar = page.getByTestId("sidebar");
    expect(await sidebar.getByTestId("nav-migrations").getAttribute("aria-current")).toBe("page");
    await sidebar.getByTestId("nav-home").click();
    await page.waitForURL((url) => url.pathname === "/");
    await expect
      .poll(() => page.getByTestId("home-migrations-headline").textContent())
      .toBe("14 migrations pending");
    expect(await page.getByTestId("home-migrations").textContent()).toContain(
      "0 applied · 14 pending · 0 problems",
    );
    expect(await sidebar.getByTestId("nav-home").getAttribute("aria-current")).toBe("page");
    await expect.poll(() => page.getByTestId("home-database").textContent()).toContain("Answering");
    await screenshot(page, "operator-01-home");

    await sidebar.getByTestId("nav-migrations").click();
    await page.waitForURL(/\/migrations$/);
    await row(LAST).waitFor();
    expect(await stateOf(FIRST)).toBe("pending");
    await screenshot(page, "operator-02-pending");
  });

  for (const width of [1280, 1440]) {
    it(`keeps every row's actions and columns within the table at ${width} px, with a 200-character name`, async () => {
      await page.setViewportSize({ width, height: 800 });
      const scroller = page.getByTestId("migrations-table-scroll");
      const checksumHeader = page.getByRole("columnheader", { name: "Checksum" });
      // At either end of the table's own horizontal scroll, every row's menu is in view.
      for (const end of ["start", "end"] as const) {
        await scroller.evaluate((el, at) => {
          el.scrollLeft = at === "end" ? el.scrollWidth : 0;
        }, end);
        for (const name of NAMES) {
          const trigger = page.getByTestId(`row-menu-${name}`);
          await trigger.scrollIntoViewIfNeeded();
          await expectInside(trigger, scroller);
          await expectInside(trigger, { width, height: 800 });
        }
      }
      await scroller.evaluate((el) => {
        el.scrollLeft = 0;
      });
      // Nothing needs the scroll at these widths: the long name is cut, not the columns.
      expect(await scroller.evaluate((el) => el.scrollWidth - el.clientWidth)).toBeLessThanOrEqual(
        0,
      );
      await expectInside(checksumHeader, scroller);
      const longName = page.getByTestId(`view-sql-${LONG}`);
      expect(await longName.getAttribute("title")).toBe(LONG);
      expect(await longName.evaluate((el) => el.scrollWidth > el.clientWidth)).toBe(true);

      // The next pending row's Apply is a button on the row, in the sticky actions column.
      await expectInside(page.getByTestId(`apply-${FIRST}`), scroller);
      await page.getByTestId(`row-menu-${LONG}`).click();
      const menu = page.getByRole("menu");
      await menu.waitFor();
      await expectInside(menu, { width, height: 800 });
      expect(await menu.getByRole("menuitem").allTextContents()).toEqual([
        "View SQL",
        "ApplyPending migrations apply in order: 001_create_regions comes first",
        "Rehearse up to hereRun it and the pending ones before it in a transaction that is rolled back: times and locks",
        "Baseline up to hereRecord it and the pending ones before it as applied, running nothing",
      ]);
      await screenshot(page, `operator-03-menu-${width}`, false);
      await page.keyboard.press("Escape");
      await menu.waitFor({ state: "hidden" });
      // Focus went back to the menu's button.
      expect(
        await page.getByTestId(`row-menu-${LONG}`).evaluate((el) => el === document.activeElement),
      ).toBe(true);
    });
  }

  it("shows a cut-off name in full in a tooltip on keyboard focus", async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    const previous = NAMES[NAMES.indexOf(LONG) - 1] as string;
    await page.getByTestId(`row-menu-${previous}`).focus();
    await page.keyboard.press("Tab");
    const longName = page.getByTestId(`view-sql-${LONG}`);
    expect(await longName.evaluate((el) => el === document.activeElement)).toBe(true);
    const tooltip = page.getByTestId("name-tooltip");
    await expect.poll(() => tooltip.textContent()).toBe(LONG);
    expect(await longName.getAttribute("aria-describedby")).toBe(await tooltip.getAttribute("id"));
    await expectInside(tooltip, { width: 1280, height: 800 });
    await screenshot(page, "operator-04-name-tooltip", false);
    await page.keyboard.press("Escape");
    await tooltip.waitFor({ state: "hidden" });
  });

  it("baselines up to a row from its menu after a confirmation that nothing runs", async () => {
    await choose(THIRD, "baseline");
    const dialog = page.getByTestId("baseline-dialog");
    await dialog.waitFor();
    expect(await page.getByTestId("baseline-nothing-runs").textContent()).toContain("Nothing runs");
    expect(await page.getByTestId("baseline-list").locator("li").allTextContents()).toEqual(
      NAMES.slice(0, 3),
    );
    expect(await dialog.textContent()).toContain(ACTOR);
    await screenshot(page, "operator-05-baseline-dialog", false);
    await page.getByTestId("baseline-confirm").click();
    await expect
      .poll(() => page.getByTestId("toast-success").first().textContent())
      .toContain("Baselined 3 migrations");
    await expect.poll(() => stateOf(THIRD)).toBe("applied");
    expect(await stateOf(NAMES[3] as string)).toBe("pending");

    const rows = await sql<{ migration_name: string; status: string; applied_by: string }>(
      "select migration_name, status, applied_by from platform.schema_migrations order by 1",
    );
    expect(rows).toEqual(
      NAMES.slice(0, 3).map((name) => ({
        migration_name: name,
        status: "applied",
        applied_by: ACTOR,
      })),
    );
    const events = await sql<{ action: string; n: string }>(
      "select action, count(*)::text as n from platform.schema_migration_events group by 1",
    );
    expect(events).toEqual([{ action: "baseline", n: "3" }]);
    // Nothing ran: the tables those migrations create are not there.
    const tables = await sql<{ found: string | null }>("select to_regclass($1)::text as found", [
      tableOf(FIRST),
    ]);
    expect(tables).toEqual([{ found: null }]);
  });

  it("applies all pending, then answers an act on the lowest row with a toast in view and on the row", async () => {
    await page.getByTestId("apply-all").click();
    await expect.poll(() => page.getByTestId("confirm-sql").textContent()).toContain(tableOf(LAST));
    await page.getByTestId("confirm-button").click();
    await expect.poll(() => stateOf(LAST), { timeout: 60_000 }).toBe("applied");

    const rollback = page.getByTestId(`rollback-${LAST}`);
    await rollback.evaluate((el) => el.scrollIntoView({ block: "center" }));
    // Scrolled down to the last row: the top of the page is out of view.
    expect(await page.evaluate(() => window.scrollY)).toBeGreaterThan(0);
    await rollback.click();
    await expect.poll(() => page.getByTestId("confirm-sql").textContent()).toContain("drop table");
    await page.getByTestId("confirm-button").click();
    const toast = page.getByTestId("toast-success").filter({ hasText: `Rolled back ${LAST}` });
    await toast.waitFor({ timeout: 60_000 });
    // It slides in from the edge: in view once settled.
    await expect.poll(() => inViewport(toast, 1280, 800)).toBe(true);
    await expect.poll(() => row(LAST).getAttribute("data-recent")).toBe("succeeded");
    const outcome = row(LAST).getByTestId("row-outcome");
    expect(await outcome.textContent()).toContain("Done just now");
    // The row says it too, where the operator is looking.
    await expectInside(outcome, { width: 1280, height: 800 });
    await screenshot(page, "operator-06-toast-lower-row", false);
    expect(await stateOf(LAST)).toBe("rolled_back");
    expect(
      await sql(
        "select status, rolled_back_by from platform.schema_migrations where migration_name = $1",
        [LAST],
      ),
    ).toEqual([{ status: "rolled_back", rolled_back_by: ACTOR }]);
    // The row's own mark fades; the toast is what stays readable meanwhile.
    await expect.poll(() => row(LAST).getAttribute("data-recent"), { timeout: 15_000 }).toBeNull();
  });

  it("shows times in the viewer's time zone, named, with the exact instant on hover", async () => {
    const [applied] = await sql<{ applied_at: Date }>(
      "select applied_at from platform.schema_migrations where migration_name = $1",
      [FIFTH],
    );
    const time = row(FIFTH).locator("time");
    const text = (await time.textContent()) ?? "";
    expect(text).toMatch(/GMT\+9/);
    const expected = new Intl.DateTimeFormat("en-US", {
      timeZone: TIME_ZONE,
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    }).format(applied?.applied_at);
    expect(text).toContain(expected);
    const iso = applied?.applied_at.toISOString() ?? "";
    expect(await time.getAttribute("datetime")).toBe(iso);
    expect(await time.getAttribute("title")).toBe(`${iso} (shown in ${TIME_ZONE})`);
    expect(await page.getByTestId("live-status").textContent()).toMatch(/GMT\+9/);
  });

  it("shows an applied migration's SQL as it ran, and its down section", async () => {
    await page.evaluate(() => window.scrollTo(0, 0));
    await choose(FIFTH, "view-sql");
    const dialog = page.getByTestId("sql-dialog");
    await dialog.waitFor();
    await page.getByTestId("tab-applied").click();
    const [recorded] = await sql<{ up_sql: string | null }>(
      "select up_sql from platform.schema_migrations where migration_name = $1",
      [FIFTH],
    );
    expect(recorded?.up_sql).toBe(upOf(FIFTH));
    const applied = page.getByTestId("sql-applied");
    const notRecorded = page.getByTestId("sql-not-recorded");
    await applied.or(notRecorded).waitFor();
    if (await applied.isVisible()) {
      expect(await applied.textContent()).toBe(recorded?.up_sql);
    } else {
      // The database's executor does not return up_sql (Executor.readRecordedSql): the page says
      // so rather than showing the file as if it were what ran.
      expect(await notRecorded.textContent()).toContain("does not return the SQL it ran");
    }
    await screenshot(page, "operator-07-applied-sql", false);
    await page.getByTestId("tab-up").click();
    expect(await page.getByTestId("sql-dialog-content").textContent()).toBe(upOf(FIFTH));
    await page.getByTestId("tab-down").click();
    expect(await page.getByTestId("sql-down").textContent()).toBe(
      `drop table ${tableOf(FIFTH)};\n`,
    );
    await page.getByTestId("sql-dialog-close").click();
    await dialog.waitFor({ state: "hidden" });
  });

  it("finds an edit on disk by itself, and shows the difference before accepting the new checksum", async () => {
    writeFileSync(join(migrationsDir, `${FIFTH}.sql`), fileOf(FIFTH, ", label text"));
    // No reload, no Refresh: the page polls.
    const drift = page.locator(`[data-testid=problem][data-kind=drift][data-migration="${FIFTH}"]`);
    await drift.waitFor({ timeout: 20_000 });
    expect(await drift.getAttribute("data-blocking")).toBe("true");
    expect(await row(FIFTH).getAttribute("data-checksum")).toBe("drift");
    // Pending (LAST, rolled back) and blocked: never "Up to date".
    expect(await page.getByTestId("apply-note").textContent()).toBe(
      "Applies are blocked until the problems above are resolved.",
    );

    await page.getByTestId(`resolve-accept_checksum-${FIFTH}`).click();
    const review = page.getByTestId("drift-review");
    await review.waitFor();
    const diff = review.getByTestId("sql-diff");
    const notRecorded = review.getByTestId("sql-not-recorded");
    await diff.or(notRecorded).waitFor();
    if (await diff.isVisible()) {
      expect(await diff.locator("tr[data-kind=removed]").allTextContents()).toEqual([
        expect.stringContaining(upOf(FIFTH)),
      ]);
      expect(await diff.locator("tr[data-kind=added]").allTextContents()).toEqual([
        expect.stringContaining(upOf(FIFTH, ", label text")),
      ]);
    } else {
      expect(await notRecorded.textContent()).toContain("does not return the SQL it ran");
      expect(await review.getByTestId("drift-file-up").textContent()).toBe(
        upOf(FIFTH, ", label text"),
      );
    }
    await screenshot(page, "operator-08-drift-review", false);
    await page.getByTestId("confirm-button").click();
    await expect
      .poll(() =>
        page
          .getByTestId("toast-success")
          .filter({ hasText: `Resolved ${FIFTH}` })
          .count(),
      )
      .toBe(1);
    await drift.waitFor({ state: "detached" });
    const [checksum] = await sql<{ checksum: string }>(
      "select checksum from platform.schema_migrations where migration_name = $1",
      [FIFTH],
    );
    expect(checksum?.checksum).toBe(
      createHash("sha256").update(upOf(FIFTH, ", label text")).digest("hex"),
    );
    expect(await page.getByTestId("apply-note").textContent()).toBe("One migration is pending.");
    // The audit trail says which decision was recorded.
    const resolved = page.locator(
      `[data-testid=history-row][data-action=resolve][data-migration="${FIFTH}"]`,
    );
    await expect
      .poll(() => resolved.getByTestId("history-resolution").textContent())
      .toBe("Accept new checksum");
  });

  it("marks the page stale while the database refuses Studio, keeping the last state, and recovers", async () => {
    await page.evaluate(() => window.scrollTo(0, 0));
    expect(await page.getByTestId("live-status").getAttribute("data-state")).not.toBe("stale");
    await query(adminUrl, `alter database ${database.name} allow_connections false`);
    await query(
      adminUrl,
      "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
      [database.name],
    );
    try {
      const banner = page.getByTestId("stale-banner");
      await banner.waitFor({ timeout: 30_000 });
      expect(await banner.textContent()).toMatch(
        /Not up to date: showing the state as of .*GMT\+9/,
      );
      expect(await page.getByTestId("migrations-state").getAttribute("data-stale")).toBe("true");
      expect(await page.getByTestId("live-status").getAttribute("data-state")).toBe("stale");
      expect(await page.getByTestId("apply-note").textContent()).toBe(
        "Not known to be up to date: the last refresh failed.",
      );
      // The last state stays on screen, marked.
      expect(await stateOf(LAST)).toBe("rolled_back");
      // Refresh says so too: it tries, and the banner stays.
      await page.getByTestId("refresh").click();
      await expect
        .poll(() => page.getByTestId("refresh").textContent(), { timeout: 30_000 })
        .toBe("Refresh");
      expect(await banner.isVisible()).toBe(true);
      await screenshot(page, "operator-09-stale-database");
    } finally {
      await query(adminUrl, `alter database ${database.name} allow_connections true`);
    }
    await page.getByTestId("stale-banner").waitFor({ state: "detached", timeout: 30_000 });
    expect(await page.getByTestId("migrations-state").getAttribute("data-stale")).toBe("false");
    expect(await page.getByTestId("live-status").getAttribute("data-state")).not.toBe("stale");
  });

  it("marks the page stale while Studio cannot be reached, and recovers", async () => {
    await page.route("**/api/trpc/**", (route) => route.abort("connectionrefused"));
    try {
      await page.getByTestId("stale-banner").waitFor({ timeout: 30_000 });
      expect(await page.getByTestId("stale-error").textContent()).toMatch(
        /^Studio could not be reached: /,
      );
      expect(await page.getByTestId("apply-note").textContent()).toBe(
        "Not known to be up to date: the last refresh failed.",
      );
      await screenshot(page, "operator-09b-stale-studio", false);
    } finally {
      await page.unroute("**/api/trpc/**");
    }
    await page.getByTestId("stale-banner").waitFor({ state: "detached", timeout: 30_000 });
  });

  it("clears a failed migration whose file is gone with “Mark rolled back”", async () => {
    const gone = "900_removed_after_failing";
    await sql(
      `insert into platform.schema_migrations (migration_name, status, applied_by, error_message, execution_time_ms, checksum)
       values ($1, 'failed', 'deploy-bot', 'relation "x" does not exist', 12, $2)`,
      [gone, "0".repeat(64)],
    );
    const problem = page.locator(
      `[data-testid=problem][data-kind=missing][data-migration="${gone}"]`,
    );
    await problem.waitFor({ timeout: 20_000 });
    await problem.getByTestId(`resolve-rolled_back-${gone}`).click();
    await page.getByTestId("confirm-dialog").waitFor();
    await page.getByTestId("confirm-button").click();
    await expect
      .poll(() =>
        page
          .getByTestId("toast-success")
          .filter({ hasText: `Resolved ${gone}` })
          .count(),
      )
      .toBe(1);
    await expect
      .poll(() => page.locator(`[data-testid=problem][data-migration="${gone}"]`).count())
      .toBe(0);
    expect(
      await sql(
        "select status, rolled_back_by from platform.schema_migrations where migration_name = $1",
        [gone],
      ),
    ).toEqual([{ status: "rolled_back", rolled_back_by: ACTOR }]);
  });

  it("shows a run's progress over the page: n of total, the migration running and for how long", async () => {
    const slow = "015_backfill_slowly";
    writeFileSync(
      join(migrationsDir, `${slow}.sql`),
      `-- migrate:up\nselect pg_sleep(3);\n${upOf(slow)}\n-- migrate:down\ndrop table ${tableOf(slow)};\n`,
    );
    // Seen at the next poll, without a reload.
    await expect
      .poll(() => page.getByTestId("apply-all").textContent(), { timeout: 15_000 })
      .toContain("(2)");
    await page.getByTestId("apply-all").click();
    await expect.poll(() => page.getByTestId("confirm-sql").textContent()).toContain("pg_sleep");
    await page.getByTestId("confirm-button").click();

    const bar = page.getByTestId("run-progress");
    await expect
      .poll(() => page.getByTestId("run-progress-migration").textContent(), { timeout: 20_000 })
      .toBe(slow);
    expect(await page.getByTestId("run-progress-count").textContent()).toBe("Applying 2 of 2");
    expect(await bar.getByRole("progressbar").getAttribute("aria-valuenow")).toBe("1");
    expect(await bar.getByRole("progressbar").getAttribute("aria-valuemax")).toBe("2");
    await expect
      .poll(() => page.getByTestId("run-progress-elapsed").textContent(), { timeout: 5_000 })
      .toMatch(/^[1-9]\.\d\d s$/);
    // Over the page wherever it is scrolled.
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await expectInside(bar, { width: 1280, height: 800 });
    await screenshot(page, "operator-10-progress", false);

    await expect
      .poll(() => bar.getAttribute("data-outcome"), { timeout: 30_000 })
      .toBe("succeeded");
    expect(await page.getByTestId("run-progress-count").textContent()).toBe("Applied 2 of 2");
    await expect.poll(() => stateOf(slow)).toBe("applied");
    await bar.waitFor({ state: "detached", timeout: 15_000 });
  });

  it("answers an unknown address with its own 404, in Studio's frame", async () => {
    const response = await page.goto(`${studio.url}/no/such/page`, { waitUntil: "load" });
    expect(response?.status()).toBe(404);
    await page.getByTestId("not-found").waitFor();
    expect(await page.getByTestId("not-found").textContent()).toContain("/no/such/page");
    expect(await page.title()).toBe("Not found · Studio");
    expect(await page.getByTestId("sidebar").isVisible()).toBe(true);
    await screenshot(page, "operator-11-404");
    await page.getByRole("link", { name: "Go to Migrations" }).click();
    await row(LAST).waitFor();
  });

  it("collapses the sidebar to an icon rail on a narrower screen, labelled on hover", async () => {
    await page.setViewportSize({ width: 900, height: 800 });
    await row(LAST).waitFor();
    const sidebar = page.getByTestId("sidebar");
    expect((await sidebar.boundingBox())?.width).toBeLessThanOrEqual(56);
    const link = sidebar.getByTestId("nav-migrations");
    expect(await link.getAttribute("title")).toBe("Migrations");
    expect(await link.getAttribute("aria-current")).toBe("page");
    // The label stays for screen readers.
    expect(await link.textContent()).toBe("Migrations");
    await screenshot(page, "operator-12-rail", false);
  });

  it("fits a phone: cards with every action in reach, the sidebar behind a menu button", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await row(LAST).waitFor();
    expect(
      await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth),
    ).toBeLessThanOrEqual(0);
    for (const name of [...NAMES, "015_backfill_slowly"]) {
      const trigger = page.getByTestId(`row-menu-${name}`);
      await trigger.scrollIntoViewIfNeeded();
      await expectInside(trigger, { width: 390, height: 844 });
    }
    expect(await page.getByTestId("sidebar").isVisible()).toBe(false);
    await row(LONG).scrollIntoViewIfNeeded();
    await screenshot(page, "operator-13-phone-long-name", false);
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, "operator-13-phone", false);
    await page.getByTestId("mobile-nav-open").click();
    const nav = page.getByTestId("mobile-nav");
    await nav.waitFor();
    expect(await nav.getByTestId("nav-migrations").getAttribute("aria-current")).toBe("page");
    await screenshot(page, "operator-13-phone-nav", false);
    await nav.getByTestId("nav-home").click();
    await page.waitForURL((url) => url.pathname === "/");
    await nav.waitFor({ state: "hidden" });
    await page.getByTestId("home-migrations").waitFor();
  });
});
