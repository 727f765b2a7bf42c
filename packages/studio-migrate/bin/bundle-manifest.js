import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";

/**
 * The bundle of the CLI (`scripts/bundle.mjs`) and its manifest, both in `dist/`. The manifest
 * records the size and modification time of every file the bundle is made of (`outputs`) and of
 * every file that went into it (`inputs`: the build of this package and of the workspace packages
 * it imports, and the `package.json` of each dependency bundled). The bundle is the same code as
 * `dist/cli.js`, loaded in far less time; it may run only while all of those files are exactly as
 * recorded — otherwise something was rebuilt (`tsc -b` after an edit, an `npm install`) and the
 * bundle would run old code.
 */
export const BUNDLE_ENTRY = "cli.bundle.js";
export const BUNDLE_MANIFEST = "cli.bundle.json";
/** Every file of the bundle is named `cli.bundle…` (the entry, its chunks, their source maps). */
export const BUNDLE_PREFIX = "cli.bundle";

/**
 * @typedef {{ size: number, mtimeMs: number }} Stamp
 * @typedef {{ outputs: Record<string, Stamp>, inputs: Record<string, Stamp> }} Manifest
 *   (paths relative to `dist/`)
 */

/** @param {string} path @returns {Stamp} */
export function stampOf(path) {
  const { size, mtimeMs } = statSync(path);
  return { size, mtimeMs };
}

/**
 * Whether the bundle in `distDir` may run: its manifest is there and names the entry, and every
 * file it records has the recorded size and modification time. Anything missing, unreadable or
 * malformed means no.
 *
 * @param {string} distDir
 * @returns {boolean}
 */
export function isBundleFresh(distDir) {
  /** @type {Partial<Manifest> | null} */
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(distDir, BUNDLE_MANIFEST), "utf8"));
  } catch {
    return false;
  }
  const outputs = manifest?.outputs;
  const inputs = manifest?.inputs;
  if (typeof outputs !== "object" || outputs === null || !(BUNDLE_ENTRY in outputs)) return false;
  if (typeof inputs !== "object" || inputs === null) return false;
  for (const recorded of [outputs, inputs]) {
    for (const [path, stamp] of Object.entries(recorded)) {
      const found = statSync(join(distDir, path), { throwIfNoEntry: false });
      if (found === undefined || found.size !== stamp?.size || found.mtimeMs !== stamp?.mtimeMs) {
        return false;
      }
    }
  }
  return true;
}
