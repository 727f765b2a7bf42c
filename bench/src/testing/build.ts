import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** Vitest globalSetup: builds this package and the packages it references (the CLI among them). */
export default async function build(): Promise<void> {
  await promisify(execFile)(`${REPO_ROOT}node_modules/.bin/tsc`, ["-b", "bench"], {
    cwd: REPO_ROOT,
  });
}
