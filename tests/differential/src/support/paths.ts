import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
export const CORPUS = fileURLToPath(new URL("../../corpus/", import.meta.url));
export const CLI_BIN = join(REPO_ROOT, "packages", "studio-migrate", "bin", "studio-migrate.js");

/** The absolute path of a corpus directory. */
export function corpusDir(name: string): string {
  return join(CORPUS, name);
}
