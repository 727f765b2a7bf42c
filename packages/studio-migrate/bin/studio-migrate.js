#!/usr/bin/env node
import { fileURLToPath } from "node:url";
import { BUNDLE_ENTRY, isBundleFresh } from "./bundle-manifest.js";

// The bundle (`scripts/bundle.mjs`, built with `dist/` at install) is `dist/cli.js` in a few
// files instead of a hundred modules: most of a no-op run's start-up. It runs only while it is
// exactly what was built from the current `dist/`; after a rebuild it is stale, and `dist/`
// runs — never older code.
const dist = new URL("../dist/", import.meta.url);
const entry = isBundleFresh(fileURLToPath(dist)) ? BUNDLE_ENTRY : "cli.js";
const { main } = await import(new URL(entry, dist).href);

process.exitCode = await main(process.argv.slice(2));
