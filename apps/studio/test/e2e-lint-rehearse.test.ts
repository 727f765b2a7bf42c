import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { byteSize } from "@studio/migrations-lint/describe";
import { createTestDatabase, query, type TestDatabase } from "@studio/test-postgres";
import type { Browser, BrowserContext, Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHROMIUM, launchChromium, screenshot, signIn } from "./browser.ts";
import { type StudioProcess, startStudio } from "./studio-process.ts";

/**
 * Safe live changes on the Migrations page (SPEC §9), in Chromium against the production build and
 * a real PostgreSQL with a populated table: the apply confirmation shows the lint's findings on
 * exactly what it would run, each with the table's size and the lock; "Rehearse" runs the pending
 * migrations in a transaction that is rolled back and shows each statement's time and locks, and
 * the database is left as it was. At 1280 and 390 px.
 */

const SECRET = "e2e-lint-rehearse-secret-7d0c2b9e4f1a3865";
const ACTOR = "Barbara Liskov";
const ROWS = 100_000;

const CREATE = "001_create_events";
const INDEX = "002_index_events_by_account";
const REGION = "003_add_event_region";
const CONCURRENT = "004_index_event_payloads";
const TAGS = "005_create_event_tags";

/** A migration that lints clean: a new table, and an index on it (new, so nothing to lock). */
const TAGS_CLEAN = `-- migrate:up
CREATE TABLE public.event_tags (event_id bigint NOT NULL, tag text NOT NULL);
-- migrate:down
DROP TABLE public.event_tags;
`;
/** The same, edited after review: an index on the live, populated table, built without CONCURRENTLY. */
const TAGS_RISKY = `-- migrate:up
CREATE TABLE public.event_tags (event_id bigint NOT NULL, tag text NOT NULL);
CREATE INDEX events_account_payload_idx ON public.events (account_id, payload);
-- migrate:down
DROP INDEX public.events_account_payload_idx;
DROP TABLE public.event_tags;
`;

/** A table comment long enough that a rehearsal reports its statement cut. */
const LONG_COMMENT = `Everything an account did, one row per event: ${"kept for audits and replays; ".repeat(8)}end.`;

const FILES: Record<string, string> = {
  [CREATE]: `-- migrate:up
CREATE TABLE public.events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  account_id integer NOT NULL,
  payload text,
  legacy_flag boolean
);
-- migrate:down
DROP TABLE public.events;
`,
  // Line 3: an index built without CONCURRENTLY; line 5: NOT NULL set without a validated CHECK;
  // line 8: a dropped column, accepted knowingly on line 7; line 10: a statement longer than a
  // rehearsal reports (200 characters).
  [INDEX]: `-- migrate:up
-- Accounts read their events by account.
CREATE INDEX events_account_id_idx ON public.events (account_id);

ALTER TABLE public.events ALTER COLUMN payload SET NOT NULL;

-- lint:ignore drop-column nothing has read legacy_flag since the v2 API
ALTER TABLE public.events DROP COLUMN legacy_flag;

COMMENT ON TABLE public.events IS '${LONG_COMMENT}';
-- migrate:down
ALTER TABLE public.events ADD COLUMN legacy_flag boolean;
ALTER TABLE public.events ALTER COLUMN payload DROP NOT NULL;
DROP INDEX public.events_account_id_idx;
`,
  // A NOT NULL column without a default: the lint says it fails on a table with rows, and the
  // rehearsal shows PostgreSQL saying so.
  [REGION]: `-- migrate:up
ALTER TABLE public.events ADD COLUMN region text NOT NULL;
-- migrate:down
ALTER TABLE public.events DROP COLUMN region;
`,
  [CONCURRENT]: `-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY events_payload_idx ON public.events (payload);
-- migrate:down transaction:false
DROP INDEX CONCURRENTLY public.events_payload_idx;
`,
};

describe.skipIf(!CHROMIUM)(
  "Studio in Chromium: lint in the apply confirmation, and rehearse",
  () => {
    let database: TestDatabase;
    let studio: StudioProcess;
    let browser: Browser;
    let context: BrowserContext;
    let page: Page;
    let migrationsDir: string;

    const sql = <R extends Record<string, unknown>>(text: string, params: unknown[] = []) =>
      query<R>(database.url, text, params);
    const row = (name: string) => page.getByTestId(`migration-row-${name}`);

    /** What a rehearsal must not change: the table's shape and rows, and the migrations' records. */
    async function databaseState() {
      const [columns, indexes, constraints, records, events, rows] = await Promise.all([
        sql(
          `select column_name, data_type, is_nullable, column_default from information_schema.columns
          where table_schema = 'public' and table_name = 'events' order by ordinal_position`,
        ),
        sql(
          "select indexname, indexdef from pg_indexes where schemaname = 'public' and tablename = 'events' order by 1",
        ),
        sql(
          "select conname, pg_get_constraintdef(oid) as def from pg_constraint where conrelid = 'public.events'::regclass order by 1",
        ),
        sql(
          "select migration_name, status, checksum, applied_at from platform.schema_migrations order by 1",
        ),
        sql("select count(*)::int as n from platform.schema_migration_events"),
        sql("select count(*)::int as n, count(payload)::int as payloads from public.events"),
      ]);
      return { columns, indexes, constraints, records, events, rows };
    }

    /** The size the page must show for `public.events`, from the catalog as the lint reads it. */
    async function expectedSize(): Promise<string> {
      const [size] = await sql<{ rows: number; bytes: string }>(
        "select reltuples::float8 as rows, pg_total_relation_size('public.events')::text as bytes from pg_class where oid = 'public.events'::regclass",
      );
      expect(size?.rows).toBe(ROWS);
      return `≈100 k rows, ${byteSize(Number(size?.bytes))}`;
    }

    /** `inner` lies inside the viewport's width, as laid out now. */
    async function expectWithinWidth(inner: Locator, width: number) {
      const box = await inner.boundingBox();
      expect(box, "laid out").not.toBeNull();
      if (!box) return;
      expect(box.x).toBeGreaterThanOrEqual(-1);
      expect(box.x + box.width).toBeLessThanOrEqual(width + 1);
    }

    beforeAll(async () => {
      database = await createTestDatabase("studio_e2e_lint");
      migrationsDir = mkdtempSync(join(tmpdir(), "studio-e2e-lint-"));
      for (const [name, text] of Object.entries(FILES)) {
        writeFileSync(join(migrationsDir, `${name}.sql`), text);
      }
      studio = await startStudio({
        DATABASE_URL: database.url,
        MIGRATION_SECRET: SECRET,
        MIGRATIONS_DIR: migrationsDir,
      });
      // 001 applied as a deploy script would, then the table filled and analyzed: a live table the
      // pending migrations would lock.
      const applied = await fetch(`${studio.url}/api/platform/migrations/apply`, {
        method: "POST",
        headers: { "x-migration-secret": SECRET, "content-type": "application/json" },
        body: JSON.stringify({ migration_name: CREATE }),
      });
      expect(applied.status).toBe(200);
      await sql(
        `insert into public.events (account_id, payload, legacy_flag)
         select g % 1000, 'event ' || g, false from generate_series(1, ${ROWS}) g`,
      );
      await sql("analyze public.events");
      browser = await launchChromium();
      context = await browser.newContext({
        viewport: { width: 1280, height: 1000 },
        locale: "en-US",
      });
      page = await context.newPage();
    });
    afterAll(async () => {
      await browser?.close();
      await studio?.stop();
      await database?.drop();
      if (migrationsDir) rmSync(migrationsDir, { recursive: true, force: true });
    });

    it("shows the lint's findings on what Apply all would run: rule, line, table size, lock, fix", async () => {
      await signIn(page, studio.url, SECRET, ACTOR);
      await row(CONCURRENT).waitFor();
      const size = await expectedSize();

      await page.getByTestId("apply-all").click();
      const dialog = page.getByTestId("confirm-dialog");
      const lint = dialog.locator("[data-testid=lint-findings][data-state=linted]");
      await lint.waitFor({ timeout: 30_000 });
      await screenshot(page, "lint-01-apply-all-findings", false);

      expect(await lint.getByTestId("lint-counts").textContent()).toBe("— 3 errors, 0 warnings");
      const findings = lint.getByTestId("lint-finding");
      expect(await findings.count()).toBe(3);
      const shown = await findings.evaluateAll((items) =>
        items.map((item) => {
          const text = (id: string) =>
            item.querySelector(`[data-testid=${id}]`)?.textContent?.trim() ?? null;
          return {
            level: text("finding-level"),
            rule: text("finding-rule"),
            place: text("finding-place"),
            relation: text("finding-relation"),
            size: text("finding-size"),
            lock: text("lock-badge"),
          };
        }),
      );
      expect(shown).toEqual([
        {
          level: "Error",
          rule: "index-not-concurrent",
          place: `${INDEX}:3`,
          relation: "public.events",
          size,
          lock: "SHARE",
        },
        {
          level: "Error",
          rule: "not-null-without-check",
          place: `${INDEX}:5`,
          relation: "public.events",
          size,
          lock: "ACCESS EXCLUSIVE",
        },
        {
          level: "Error",
          rule: "add-column-not-null-without-default",
          place: `${REGION}:2`,
          relation: "public.events",
          size,
          lock: "ACCESS EXCLUSIVE",
        },
      ]);
      // The message names the table with its size, and the fix says the safe way.
      expect(await findings.first().getByTestId("finding-message").textContent()).toContain(
        `public.events (${size})`,
      );
      expect(await findings.first().getByTestId("finding-fix").textContent()).toContain(
        "CONCURRENTLY",
      );

      // The accepted finding is folded away, with its reason a click away.
      const ignored = lint.getByTestId("lint-ignored");
      expect(await ignored.locator("summary").textContent()).toBe(
        "1 finding accepted with lint:ignore",
      );
      expect(await ignored.getAttribute("open")).toBeNull();
      expect(await ignored.getByTestId("lint-ignored-finding").isVisible()).toBe(false);

      // The button says what it does despite them, and the SQL is still there to read.
      const confirm = page.getByTestId("confirm-button");
      expect(await confirm.textContent()).toBe("Apply despite 3 lint errors");
      expect(await confirm.isEnabled()).toBe(true);
      expect(await confirm.getAttribute("data-strict")).toBeNull();
      expect(await dialog.getByTestId("confirm-sql").textContent()).toContain(
        "CREATE INDEX CONCURRENTLY",
      );

      await ignored.locator("summary").click();
      expect(await ignored.getByTestId("lint-ignored-finding").textContent()).toContain(
        "drop-column",
      );
      expect(await ignored.getByTestId("lint-ignored-finding").textContent()).toContain(
        "“nothing has read legacy_flag since the v2 API”",
      );

      await page.getByTestId("confirm-cancel").click();
      await dialog.waitFor({ state: "detached" });
      expect(await sql("select migration_name from platform.schema_migrations")).toEqual([
        { migration_name: CREATE },
      ]);
    });

    it("rehearses every pending migration: times and locks per statement, the failure, and nothing kept", async () => {
      const before = await databaseState();
      await page.getByTestId("rehearse-all").click();
      const dialog = page.getByTestId("rehearse-dialog");
      await dialog.getByTestId("rehearse-intro").waitFor();
      expect(await dialog.getByTestId("rehearse-intro").textContent()).toContain(CONCURRENT);
      await page.getByTestId("rehearse-start").click();
      const report = dialog.getByTestId("rehearsal-report");
      await report.waitFor({ timeout: 60_000 });

      const index = report.getByTestId(`rehearsal-step-${INDEX}`);
      expect(await index.getAttribute("data-status")).toBe("rehearsed");
      const statements = index.getByTestId("rehearsed-statement");
      expect(
        await statements.evaluateAll((rows) => rows.map((r) => r.getAttribute("data-line"))),
      ).toEqual(["3", "5", "8", "10"]);
      for (const time of await index.getByTestId("statement-time").allTextContents()) {
        expect(time).toMatch(/^\d+(\.\d+)? (ms|s)$/);
      }
      // Each statement's own new locks, from pg_locks: SHARE for the index build, ACCESS EXCLUSIVE
      // for the ALTER TABLE.
      const locksOf = (line: string) =>
        statements
          .and(page.locator(`[data-line="${line}"]`))
          .getByTestId("statement-lock")
          .allTextContents();
      expect(await locksOf("3")).toContain("public.eventsSHARE");
      expect(await locksOf("5")).toContain("public.eventsACCESS EXCLUSIVE");
      expect(await statements.first().getByTestId("statement-text").textContent()).toBe(
        "CREATE INDEX events_account_id_idx ON public.events (account_id)",
      );

      // 003 fails on a table with rows: highlighted, with PostgreSQL's message.
      const region = report.getByTestId(`rehearsal-step-${REGION}`);
      expect(await region.getAttribute("data-status")).toBe("failed");
      const failedStatement = region.locator("[data-testid=rehearsed-statement][data-failed=true]");
      expect(await failedStatement.getByTestId("statement-error").textContent()).toContain(
        'column "region" of relation "events" contains null values',
      );
      expect(await failedStatement.getByTestId("statement-error").textContent()).toContain("23502");
      expect(await report.getByTestId("rehearsal-failed").textContent()).toContain(
        `${REGION} would fail, at line 2`,
      );

      // 004 runs outside a transaction: listed with the reason, not run.
      const concurrent = report.getByTestId(`rehearsal-step-${CONCURRENT}`);
      expect(await concurrent.getAttribute("data-status")).toBe("not_rehearsable");
      expect(await concurrent.getByTestId("rehearsal-reason").textContent()).toContain(
        "transaction:false",
      );
      expect(await concurrent.getByTestId("rehearsed-statement").count()).toBe(0);

      expect(await report.getByTestId("rehearsal-rolled-back").textContent()).toContain(
        "Nothing was applied or recorded",
      );
      await screenshot(page, "lint-02-rehearse-all", false);

      expect(await databaseState()).toEqual(before);
      await page.getByTestId("rehearse-close").click();
      await dialog.waitFor({ state: "detached" });
    });

    it("rehearses up to a row from its menu, at 390 px, with a statement's full text on demand", async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      const before = await databaseState();
      await page.getByTestId(`row-menu-${INDEX}`).click();
      await page.getByTestId(`menu-rehearse-${INDEX}`).click();
      const dialog = page.getByTestId("rehearse-dialog");
      expect(await dialog.textContent()).toContain(`Rehearse up to ${INDEX}`);
      await page.getByTestId("rehearse-start").click();
      const report = dialog.getByTestId("rehearsal-report");
      await report.waitFor({ timeout: 60_000 });

      expect(await report.getByTestId("rehearsal-succeeded").textContent()).toContain(
        "1 migration rehearsed",
      );
      expect(await report.locator("section[data-testid^=rehearsal-step-]").count()).toBe(1);
      const step = report.getByTestId(`rehearsal-step-${INDEX}`);
      expect(await step.getAttribute("data-status")).toBe("rehearsed");

      // Cut to the card's width until asked for, then whole.
      const text = step.getByTestId("statement-text").nth(2);
      expect(await text.getAttribute("aria-expanded")).toBe("false");
      const oneLine = await text.boundingBox();
      await text.click();
      expect(await text.getAttribute("aria-expanded")).toBe("true");
      const opened = await text.boundingBox();
      expect(opened?.height ?? 0).toBeGreaterThan(oneLine?.height ?? 0);
      expect(await text.textContent()).toBe("ALTER TABLE public.events DROP COLUMN legacy_flag");
      expect(await step.getByTestId("statement-view-sql").count()).toBe(0);

      // Longer than a rehearsal reports: cut, with the migration's SQL a click away, over the
      // rehearsal, which is still there when it closes.
      const long = step.getByTestId("statement-text").nth(3);
      await long.click();
      expect(await long.textContent()).toMatch(
        /^COMMENT ON TABLE public\.events IS 'Everything .*…$/,
      );
      await step.getByTestId("statement-view-sql").click();
      const sqlDialog = page.getByTestId("sql-dialog");
      await expect
        .poll(() => sqlDialog.getByTestId("sql-dialog-content").textContent())
        .toContain(`'${LONG_COMMENT}'`);
      await page.keyboard.press("Escape");
      await sqlDialog.waitFor({ state: "detached" });
      expect(await dialog.isVisible()).toBe(true);
      expect(await long.getAttribute("aria-expanded")).toBe("true");

      // Everything fits the phone's width: the dialog, each statement's card, its locks.
      await expectWithinWidth(dialog, 390);
      for (const card of await step.getByTestId("rehearsed-statement").all()) {
        await expectWithinWidth(card, 390);
      }
      for (const lock of await step.getByTestId("lock-badge").all()) {
        await lock.scrollIntoViewIfNeeded();
        await expectWithinWidth(lock, 390);
      }
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
        390,
      );
      await screenshot(page, "lint-03-rehearse-up-to-390", false);

      expect(await databaseState()).toEqual(before);
      await page.getByTestId("rehearse-close").click();
      await dialog.waitFor({ state: "detached" });
    });

    it("shows one migration's findings in its own confirmation at 390 px, and applies despite them", async () => {
      const size = await expectedSize();
      await page.getByTestId(`apply-${INDEX}`).click();
      const dialog = page.getByTestId("confirm-dialog");
      const lint = dialog.locator("[data-testid=lint-findings][data-state=linted]");
      await lint.waitFor({ timeout: 30_000 });

      // Exactly what this apply runs: 002's findings, not 003's.
      const places = await lint.getByTestId("finding-place").allTextContents();
      expect(places).toEqual([`${INDEX}:3`, `${INDEX}:5`]);
      expect(await lint.getByTestId("finding-size").allTextContents()).toEqual([size, size]);
      for (const finding of await lint.getByTestId("lint-finding").all()) {
        await expectWithinWidth(finding, 390);
      }
      await expectWithinWidth(lint.getByTestId("lock-badge").first(), 390);
      await screenshot(page, "lint-04-apply-one-390", false);

      const confirm = page.getByTestId("confirm-button");
      expect(await confirm.textContent()).toBe("Apply despite 2 lint errors");
      await confirm.click();
      await expect
        .poll(() => row(INDEX).getAttribute("data-state"), { timeout: 60_000 })
        .toBe("applied");

      // It ran as asked, locks and all: the index, NOT NULL, the column gone.
      expect(
        await sql(
          "select indexname from pg_indexes where tablename = 'events' and indexname = 'events_account_id_idx'",
        ),
      ).toHaveLength(1);
      expect(
        await sql(
          "select column_name, is_nullable from information_schema.columns where table_name = 'events' and column_name in ('payload', 'legacy_flag')",
        ),
      ).toEqual([{ column_name: "payload", is_nullable: "NO" }]);
      expect(
        await sql(
          "select migration_name, status, applied_by from platform.schema_migrations order by 1",
        ),
      ).toEqual([
        { migration_name: CREATE, status: "applied", applied_by: "secret" },
        { migration_name: INDEX, status: "applied", applied_by: ACTOR },
      ]);
    });

    it("applies strictly after a clean lint: an error that appears after the review stops it", async () => {
      await page.setViewportSize({ width: 1280, height: 1000 });
      // 003 and 004 were never applied: without their files they are simply gone from the list.
      rmSync(join(migrationsDir, `${REGION}.sql`));
      rmSync(join(migrationsDir, `${CONCURRENT}.sql`));
      writeFileSync(join(migrationsDir, `${TAGS}.sql`), TAGS_CLEAN);
      await row(TAGS).waitFor({ timeout: 20_000 });
      await row(REGION).waitFor({ state: "detached" });

      await page.getByTestId(`apply-${TAGS}`).click();
      const dialog = page.getByTestId("confirm-dialog");
      await dialog.locator("[data-testid=lint-findings][data-state=linted]").waitFor();
      const clean = dialog.getByTestId("lint-clean");
      expect(await clean.textContent()).toContain("Nothing in this SQL takes a lock");
      // One line of text with its icon, not a banner.
      expect((await clean.boundingBox())?.height ?? 0).toBeLessThan(60);
      await screenshot(page, "lint-06-clean", false);
      const confirm = page.getByTestId("confirm-button");
      expect(await confirm.textContent()).toBe("Apply migration");
      expect(await confirm.getAttribute("data-strict")).toBe("true");
      expect(await dialog.getByTestId("lint-gate-note").textContent()).toContain("strict");

      // Edited after the review: the strict apply lints again as it starts and runs nothing.
      writeFileSync(join(migrationsDir, `${TAGS}.sql`), TAGS_RISKY);
      await confirm.click();
      const refused = page.getByTestId("toast-error").filter({ hasText: "Stopped by the lint" });
      await refused.waitFor({ timeout: 30_000 });
      expect(await refused.textContent()).toContain("Strict apply refused");
      expect(await refused.textContent()).toContain(
        "index-not-concurrent in 005_create_event_tags:3",
      );
      expect(await refused.textContent()).toContain("apply despite them");
      expect(await sql("select to_regclass('public.event_tags') is null as absent")).toEqual([
        { absent: true },
      ]);
      expect(
        await sql("select 1 from platform.schema_migrations where migration_name = $1", [TAGS]),
      ).toEqual([]);
    });

    it("says why when the lint cannot answer, and leaves applying possible", async () => {
      // The browser's request to lint fails (as when Studio cannot be reached for it).
      await page.route(/\/api\/trpc\/[^?]*migrations\.lint/, (route) => route.abort("failed"));
      try {
        await page.getByTestId(`apply-${TAGS}`).click();
        const dialog = page.getByTestId("confirm-dialog");
        const failed = dialog.locator("[data-testid=lint-findings][data-state=failed]");
        await failed.waitFor({ timeout: 30_000 });
        expect(await failed.getByTestId("lint-error").textContent()).toContain(
          "Could not lint this SQL",
        );
        expect(
          (await failed.getByTestId("lint-error-message").textContent())?.length,
        ).toBeGreaterThan(0);
        await screenshot(page, "lint-05-lint-failed", false);
        const confirm = page.getByTestId("confirm-button");
        expect(await confirm.textContent()).toBe("Apply without lint");
        expect(await confirm.getAttribute("data-strict")).toBeNull();
        await confirm.click();
        await expect
          .poll(() => row(TAGS).getAttribute("data-state"), { timeout: 60_000 })
          .toBe("applied");
      } finally {
        await page.unroute(/\/api\/trpc\/[^?]*migrations\.lint/);
      }
      // Applied as written, unreviewed: the table and the index the lint would have flagged.
      expect(
        await sql(
          "select indexname from pg_indexes where indexname = 'events_account_payload_idx'",
        ),
      ).toHaveLength(1);
    });
  },
);
