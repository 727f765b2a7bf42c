import { readdirSync } from "node:fs";
import { it } from "vitest";

/**
 * Tests that are stages of one scenario on shared databases, run in order (`it.sequential`, even
 * inside a `describe.concurrent`, whose scenarios then run side by side): once one fails, the later
 * ones fail at once saying which stage broke the chain, rather than on a state it left.
 */
export function stages() {
  let broken: string | null = null;
  return (name: string, body: () => Promise<void>, timeout?: number) =>
    it.sequential(
      name,
      async () => {
        if (broken !== null) throw new Error(`not run: the earlier stage "${broken}" failed`);
        try {
          await body();
        } catch (error) {
          broken = name;
          throw error;
        }
      },
      timeout,
    );
}

/** The `.sql` files of a directory, by name. */
export function sqlFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".sql"))
    .sort();
}

/** A migration's version as dbmate records it: the leading digits of its name, as written. */
export function versionOf(name: string): string {
  const digits = /^\d+/.exec(name)?.[0];
  if (digits === undefined) throw new Error(`${name} has no version`);
  return digits;
}
