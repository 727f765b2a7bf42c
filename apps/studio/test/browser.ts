import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";

/**
 * Debian's Chromium for the e2e tests, driven by playwright-core: nothing is downloaded. Without a
 * Chromium the suites say they skipped (`CHROMIUM`).
 */
export const CHROMIUM = [
  process.env.CHROMIUM_PATH,
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
].find((path): path is string => typeof path === "string" && existsSync(path));

if (!CHROMIUM) {
  console.warn(
    "[studio e2e] SKIPPED: no Chromium found (set CHROMIUM_PATH, or run scripts/ensure-chromium.sh)",
  );
}

/** Where the e2e tests leave their screenshots, to be looked at (git-ignored). */
export const SCREENSHOTS = fileURLToPath(new URL("./screenshots/", import.meta.url));

export async function launchChromium(): Promise<Browser> {
  if (!CHROMIUM) throw new Error("No Chromium: the suite should have been skipped.");
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    ],
  });
}

/** A screenshot under `screenshots/`: the whole page, or only what the viewport shows. */
export async function screenshot(page: Page, name: string, fullPage = true): Promise<Buffer> {
  // Colour transitions (150 ms) would otherwise be caught halfway.
  await page.waitForTimeout(250);
  return page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage });
}

/** Signs in through the form, as an operator would, and waits for the Migrations page. */
export async function signIn(page: Page, url: string, secret: string, name: string) {
  await page.goto(`${url}/sign-in`, { waitUntil: "load" });
  await page.getByTestId("signin-secret").fill(secret);
  await page.getByTestId("signin-name").fill(name);
  await page.getByTestId("signin-submit").click();
  await page.waitForURL(/\/migrations/);
}
