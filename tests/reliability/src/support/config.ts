import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
export const CLI_BIN = fileURLToPath(
  new URL("../../../../packages/studio-migrate/bin/studio-migrate.js", import.meta.url),
);

function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${name} must be a positive integer, not ${JSON.stringify(raw)}`);
  }
  return value;
}

/** Rounds of each race (a fresh database each). */
export const ROUNDS = positiveInt("RELIABILITY_ROUNDS", 5);
/** Concurrent appliers per round: separate processes for the CLI, concurrent requests for HTTP. */
export const APPLIERS = positiveInt("RELIABILITY_APPLIERS", 8);
/** fast-check runs per property. */
export const FUZZ_RUNS = positiveInt("RELIABILITY_FUZZ_RUNS", 200);
/** Faults injected per fault-storm test. */
export const FAULTS = positiveInt("RELIABILITY_FAULTS", 6);
