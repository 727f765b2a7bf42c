// Regenerates src/tracking-sql.generated.ts from the Kysely definitions in src/tracking-queries.ts.
// `npm run generate` compiles the package first: Node 20 runs no TypeScript, so this imports the
// generator from dist/.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { GENERATED_FILE, generateTrackingSql } from "../dist/tracking-sql-generator.js";

const target = new URL(`../${GENERATED_FILE}`, import.meta.url);
const text = generateTrackingSql();
if (existsSync(target) && readFileSync(target, "utf8") === text) {
  console.log(`${GENERATED_FILE} is current.`);
} else {
  writeFileSync(target, text);
  console.log(`${GENERATED_FILE} written.`);
}
