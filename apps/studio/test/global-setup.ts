import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import postgresSetup from "../../../packages/test-postgres/src/global-setup.ts";

/** One production build of Studio per test run (the tests start `next start` on it). */
export default async function setup() {
  if (process.env.STUDIO_SKIP_BUILD !== "1") {
    const appDir = fileURLToPath(new URL("..", import.meta.url));
    const nextBin = createRequire(import.meta.url).resolve("next/dist/bin/next");
    const started = Date.now();
    const build = spawnSync(process.execPath, [nextBin, "build"], {
      cwd: appDir,
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", NODE_ENV: "production" },
      encoding: "utf8",
    });
    if (build.status !== 0) throw new Error(`next build failed:\n${build.stdout}\n${build.stderr}`);
    console.log(`[studio] production build ready in ${Date.now() - started} ms`);
  }
  return postgresSetup();
}
