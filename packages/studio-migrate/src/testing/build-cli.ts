import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "./paths.ts";

/**
 * Vitest globalSetup: the tests run the CLI as a child process, from `dist/`, so build it (and
 * the packages it references) once before any test file starts — not once per file, where
 * parallel builds would write the same outputs at the same time.
 */
export default async function buildCli(): Promise<void> {
  await promisify(execFile)(
    join(REPO_ROOT, "node_modules", ".bin", "tsc"),
    ["-b", "packages/studio-migrate"],
    { cwd: REPO_ROOT },
  );
}
