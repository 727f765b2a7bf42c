/**
 * Vitest globalSetup: one PostgreSQL server for the run (`@studio/test-postgres`), and the
 * studio-migrate CLI built, since the CLI tests run it from `dist/` as a deploy pipeline would.
 * A build failure fails only the CLI tests (they report it); the API tests do not need `dist/`.
 */

import buildCli from "../../../../packages/studio-migrate/src/testing/build-cli.ts";
import postgresSetup from "../../../../packages/test-postgres/src/global-setup.ts";

export const CLI_BUILD_ERROR_ENV = "DIFFERENTIAL_CLI_BUILD_ERROR";

export default async function setup() {
  try {
    // As for Studio's setup: STUDIO_SKIP_BUILD=1 runs the dist/ already there.
    if (process.env.STUDIO_SKIP_BUILD !== "1") await buildCli();
    delete process.env[CLI_BUILD_ERROR_ENV];
  } catch (error) {
    const e = error as { message?: string; stdout?: string; stderr?: string };
    process.env[CLI_BUILD_ERROR_ENV] =
      `${e.message ?? String(error)}\n${e.stdout ?? ""}${e.stderr ?? ""}`.slice(0, 8000);
  }
  return postgresSetup();
}
