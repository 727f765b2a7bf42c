import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { type FixedQueryName, parameterisedQueries } from "./tracking-queries.ts";

/**
 * Writes the fixed-shape bookkeeping queries of `tracking-queries.ts`, compiled by Kysely, as
 * constant text: `tracking-sql.generated.ts`, which every run uses instead of loading Kysely. Run
 * by `npm run generate` (`scripts/generate-tracking-sql.mjs`, over the compiled `dist/`, since
 * Node 20 runs no TypeScript); `tracking-sql.test.ts` renders it again and fails when the
 * committed file differs.
 */

/** The generated module, relative to the package. */
export const GENERATED_FILE = "src/tracking-sql.generated.ts";
/** What regenerates it, from the repository's root. */
export const GENERATE_COMMAND = "npm run generate --workspace @studio/migrations-postgres";

const PACKAGE_ROOT = fileURLToPath(new URL("../", import.meta.url));

/**
 * Each query is compiled with a placeholder for every value it takes; each placeholder must come
 * back as exactly one parameter, and none in the text — otherwise the query's text depends on
 * its values, and it cannot be precompiled.
 */
const PLACEHOLDER = "\u0001value:";

/** The generated module's text, formatted as the repository formats TypeScript. */
export function generateTrackingSql(): string {
  return formatTypeScript(renderTrackingSql());
}

function renderTrackingSql(): string {
  const names = Object.keys(parameterisedQueries) as FixedQueryName[];
  return `// Generated from the Kysely definitions in tracking-queries.ts by
// \`${GENERATE_COMMAND}\`: do not edit; change those and
// regenerate (tracking-sql.test.ts fails while this file is not current). Text, so that a run
// never loads Kysely (some 300 modules, over 100 ms).
import type { FixedQueryRow as Row, FixedQueryValues as Values } from "./tracking-queries.ts";
import type { SqlQuery } from "./tracking-sql.ts";

/** The fixed-shape bookkeeping queries, with \`$n\` parameters (see tracking-queries.ts for each). */
export const trackingSql = {
${names.map(renderQuery).join("\n")}
};
`;
}

function renderQuery(name: FixedQueryName): string {
  const build = parameterisedQueries[name] as (values?: object) => {
    sql: string;
    parameters: readonly unknown[];
  };
  const read = new Set<string>();
  const placeholders = new Proxy(
    {},
    {
      get: (_, key) => {
        if (typeof key !== "string") return undefined;
        read.add(key);
        return `${PLACEHOLDER}${key}`;
      },
    },
  );
  const takesValues = build.length > 0;
  const query = takesValues ? build(placeholders) : build();
  const refuse = (why: string) =>
    new Error(`tracking-queries.ts: ${name} cannot be precompiled: ${why}.`);
  if (query.sql.includes(PLACEHOLDER)) throw refuse("it writes a value into its text");
  const parameters = query.parameters.map((parameter) => {
    if (typeof parameter === "string" && parameter.startsWith(PLACEHOLDER)) {
      const key = parameter.slice(PLACEHOLDER.length);
      if (!read.has(key)) throw refuse(`it makes a parameter of ${JSON.stringify(key)}`);
      return `v.${key}`;
    }
    if (typeof parameter === "string" && parameter.includes(PLACEHOLDER)) {
      throw refuse("it makes a parameter out of a value and something else");
    }
    if (parameter === null || ["string", "number", "boolean"].includes(typeof parameter)) {
      return JSON.stringify(parameter);
    }
    throw refuse(`its parameter ${String(parameter)} is not a constant`);
  });
  for (const key of read) {
    if (!parameters.includes(`v.${key}`)) {
      throw refuse(`its value ${key} does not become a parameter (does it shape the query?)`);
    }
  }
  const signature = takesValues
    ? `(v: Values<"${name}">): SqlQuery<Row<"${name}">>`
    : `(): SqlQuery<Row<"${name}">>`;
  return `  ${name}: ${signature} => ({ sql: ${JSON.stringify(query.sql)}, parameters: [${parameters.join(", ")}] }),`;
}

/** `source` formatted by the repository's Biome, with its configuration, as `biome check` wants it. */
function formatTypeScript(source: string): string {
  const biome = createRequire(import.meta.url).resolve("@biomejs/biome/bin/biome");
  return execFileSync(process.execPath, [biome, "format", `--stdin-file-path=${GENERATED_FILE}`], {
    cwd: PACKAGE_ROOT,
    input: source,
    encoding: "utf8",
  });
}
