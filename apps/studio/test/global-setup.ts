import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import postgresSetup from "../../../packages/test-postgres/src/global-setup.ts";

const BUILT = Symbol.for("@studio/studio/test-build");

/**
 * One production build of Studio per test run (the tests start `next start` on it), on freshly
 * built packages: Studio runs their `dist/`, which must not lag behind their sources.
 */
export default async function setup() {
  // Several projects use this setup (Studio's, the reliability tests'); Vitest runs each project's
  // in one main process, which builds once.
  const built = globalThis as typeof globalThis & { [BUILT]?: true };
  if (process.env.STUDIO_SKIP_BUILD !== "1" && built[BUILT] !== true) {
    built[BUILT] = true;
    const root = fileURLToPath(new URL("../../..", import.meta.url));
    const tsc = spawnSync(join(root, "node_modules", ".bin", "tsc"), ["-b"], {
      cwd: root,
      encoding: "utf8",
    });
    if (tsc.status !== 0) throw new Error(`tsc -b failed:\n${tsc.stdout}\n${tsc.stderr}`);
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
