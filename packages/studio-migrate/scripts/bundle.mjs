#!/usr/bin/env node
/**
 * `node scripts/bundle.mjs [--if-stale]`: bundles the CLI's build — `dist/cli.js` and everything
 * it imports, as `tsc -b` emitted them — into `dist/cli.bundle.js` and a few `dist/cli.bundle.*`
 * chunks, and writes `dist/cli.bundle.json`, the manifest `bin/studio-migrate.js` checks before it
 * runs the bundle (see `bin/bundle-manifest.js`). `--if-stale` does nothing while the bundle is
 * fresh. Run after `tsc -b`: the package's `build` and the repository's `postinstall` do both.
 *
 * Why: Node 20 loads an ES module graph file by file — a resolution, an asynchronous read, a
 * decoding and a compilation each — which is most of what a no-op `studio-migrate apply` spends
 * beyond Node's own start and `pg`'s connection. What the direct mode runs comes in a few files;
 * the URL mode, `new`, `verify`, the history's query builder (Kysely) are chunks of their own,
 * loaded only when used. Whitespace and syntax are minified (names are kept, for stack traces;
 * the linked source maps lead back to `dist/`): fewer bytes to decode and compile at every start.
 */
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { builtinModules } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import {
  BUNDLE_ENTRY,
  BUNDLE_MANIFEST,
  BUNDLE_PREFIX,
  isBundleFresh,
  stampOf,
} from "../bin/bundle-manifest.js";

const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const DIST = join(PACKAGE_ROOT, "dist");
const ENTRY = join(DIST, "cli.js");

/**
 * `pg`'s optional native binding, required only through `pg.native`: not installed, so never
 * bundled. Everything else is bundled, unless `withBinaries` finds it must not be.
 */
/**
 * `pg-native`: optional, never installed. `@studio/migrations-lint`: it imports `libpg-query` 18,
 * installed in its own `node_modules` because another package hoists version 17 to the root;
 * inlined here, its import would resolve from this package's `dist/` to the root's 17.
 */
const EXTERNAL = ["pg-native", "@studio/migrations-lint"];

/**
 * Keeps outside the bundle, imported from `node_modules` when needed, every package that ships a
 * WebAssembly module or a native addon (`@electric-sql/pglite`, `libpg-query`): such a package
 * finds those files next to its own modules, where a bundled copy of its code would look in
 * `dist/` instead.
 */
const withBinaries = {
  name: "external-packages-with-binaries",
  setup(build) {
    const verdicts = new Map();
    build.onResolve({ filter: /^(?:@[^/]+\/)?[^./]/ }, async (args) => {
      if (args.pluginData?.probing || args.path.startsWith("node:")) return undefined;
      const name = packageName(args.path);
      let external = verdicts.get(name);
      if (external === undefined) {
        const found = await build.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: { probing: true },
        });
        const root =
          found.errors.length === 0 && !found.external ? packageRoot(found.path, name) : null;
        external = root !== null && shipsBinaries(root);
        verdicts.set(name, external);
      }
      return external ? { path: args.path, external: true } : undefined;
    });
  },
};

function packageName(specifier) {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** The directory of package `name` that `file` lies in, or null. */
function packageRoot(file, name) {
  const marker = `${sep}node_modules${sep}${name.split("/").join(sep)}${sep}`;
  const at = file.lastIndexOf(marker);
  return at === -1 ? null : file.slice(0, at + marker.length - 1);
}

/** Whether a package directory holds a `.wasm` or `.node` file (its own dependencies aside). */
function shipsBinaries(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules" && shipsBinaries(join(dir, entry.name))) return true;
    } else if (/\.(wasm|node)$/.test(entry.name)) return true;
  }
  return false;
}

/**
 * esbuild's ES module output turns a CommonJS dependency's `require` (`pg` is CommonJS) into a
 * shim that throws for Node's built-ins unless a real `require` is in scope: give it one.
 */
const BANNER =
  'import { createRequire as __bundleCreateRequire } from "node:module"; const require = __bundleCreateRequire(import.meta.url);';

const log = (line) => process.stderr.write(`studio-migrate bundle: ${line}\n`);

if (process.argv.includes("--if-stale") && isBundleFresh(DIST)) process.exit(0);

const started = performance.now();
// First the manifest, so that no run takes a half-written bundle for a fresh one; then every
// file of an earlier bundle (chunk names change from one build to the next).
rmSync(join(DIST, BUNDLE_MANIFEST), { force: true });
for (const name of readdirSync(DIST)) {
  if (name.startsWith(BUNDLE_PREFIX)) rmSync(join(DIST, name), { recursive: true, force: true });
}

let result;
try {
  result = await build({
    entryPoints: { [BUNDLE_ENTRY.replace(/\.js$/, "")]: ENTRY },
    // Chunks sit beside the entry, at the depth of dist/*.js: what a module finds relative to its
    // own URL (the CLI's `../package.json`) it finds from the bundle too.
    outdir: DIST,
    chunkNames: `${BUNDLE_PREFIX}.[name]-[hash]`,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    external: EXTERNAL,
    plugins: [withBinaries],
    banner: { js: BANNER },
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: "linked",
    legalComments: "none",
    metafile: true,
    logLevel: "warning",
    absWorkingDir: PACKAGE_ROOT,
  });
} catch (error) {
  // esbuild has printed what failed and where.
  log(`failed (${error instanceof Error ? error.message.split("\n")[0] : String(error)})`);
  log("bin/studio-migrate.js runs dist/cli.js until a bundle is built.");
  process.exit(1);
}

// The code, not its source maps: only what is loaded needs checking.
const outputs = Object.keys(result.metafile.outputs)
  .filter((path) => path.endsWith(".js"))
  .map((path) => resolve(PACKAGE_ROOT, path));
const entryOutput = join(DIST, BUNDLE_ENTRY);
assertNoEagerExternal(result.metafile, entryOutput);

// Inputs: this package's and the workspace packages' builds, file by file; a dependency from
// node_modules by its package.json, which an install rewrites (fewer files to check at every
// start than all of its modules).
const inputs = new Set();
for (const input of Object.keys(result.metafile.inputs)) {
  const path = resolve(PACKAGE_ROOT, input);
  const inPackage = /^(.*[\\/]node_modules[\\/](?:@[^\\/]+[\\/])?[^\\/]+)[\\/]/.exec(path);
  inputs.add(inPackage ? join(inPackage[1], "package.json") : path);
}
const stamps = (paths) =>
  Object.fromEntries([...paths].sort().map((path) => [relative(DIST, path), stampOf(path)]));
writeFileSync(
  join(DIST, BUNDLE_MANIFEST),
  `${JSON.stringify(
    {
      comment:
        "Written by scripts/bundle.mjs: bin/studio-migrate.js runs cli.bundle.js only while every file below is exactly as recorded (size, mtimeMs).",
      outputs: stamps(outputs),
      inputs: stamps(inputs),
    },
    null,
    1,
  )}\n`,
);
log(
  `${Object.keys(result.metafile.inputs).length} modules into ${relative(process.cwd(), entryOutput)} and ${outputs.length - 1} chunks in ${(performance.now() - started).toFixed(0)} ms`,
);

/**
 * An external package imported by a static `import` of the entry, or of a chunk the entry imports
 * statically, would load at every start, whatever the command: refuse such a bundle. (esbuild
 * hoists a bundled module's imports of externals to the top of the chunk holding it.)
 */
function assertNoEagerExternal(metafile, entry) {
  const builtins = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
  const seen = new Set();
  const visit = (output) => {
    if (seen.has(output)) return;
    seen.add(output);
    const meta = metafile.outputs[relative(PACKAGE_ROOT, output)];
    for (const imported of meta?.imports ?? []) {
      if (imported.kind !== "import-statement") continue;
      if (imported.external) {
        if (builtins.has(imported.path)) continue;
        log(
          `${relative(DIST, output)} imports ${imported.path} at start-up, for every command: import it lazily (await import()) where it is needed.`,
        );
        process.exit(1);
      }
      visit(resolve(PACKAGE_ROOT, imported.path));
    }
  };
  visit(entry);
}
