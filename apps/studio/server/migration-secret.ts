import { randomBytes } from "node:crypto";
import {
  chmodSync,
  linkSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";

/**
 * `MIGRATION_SECRET` as SPEC §6 has it: required, and at least 32 characters, against a real
 * database in production; only on the embedded database or in development does Studio make one
 * when it is unset — printed once, and kept in the data directory so that it is the same after a
 * restart (a new one per restart would sign everyone out and break every saved deploy script).
 */

export const MIN_PRODUCTION_SECRET_LENGTH = 32;

/** In `STUDIO_DATA_DIR`, beside the embedded database; readable by Studio's user alone. */
export const GENERATED_SECRET_FILE = "migration-secret";

export type MigrationSecret =
  | { value: string; source: "environment" }
  /** Made by this start: the one time it is printed. */
  | { value: string; source: "generated"; file: string }
  /** Made by an earlier start on this data directory. */
  | { value: string; source: "kept"; file: string };

/** Studio cannot start with this secret; the message is the one-line reason, never the secret. */
export class MigrationSecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MigrationSecretError";
  }
}

export interface SecretSetting {
  /** `MIGRATION_SECRET` as set; empty counts as unset. */
  value: string | undefined;
  production: boolean;
  /** The variable naming a real database (`DATABASE_URL`, `PG_META_URL`), or null for PGlite. */
  realDatabase: "DATABASE_URL" | "PG_META_URL" | null;
  /** `STUDIO_DATA_DIR`: where a generated secret is kept. */
  dataDir: string;
}

export function resolveMigrationSecret(setting: SecretSetting): MigrationSecret {
  const { value, production, realDatabase } = setting;
  const strict = production && realDatabase !== null;
  const where = `in production against a real database (${realDatabase})`;
  if (value === undefined || value === "") {
    if (strict) {
      throw new MigrationSecretError(
        `MIGRATION_SECRET is required in production against a real database (${realDatabase}): set it to a random string of at least ${MIN_PRODUCTION_SECRET_LENGTH} characters, e.g. the output of \`openssl rand -base64 32\`.`,
      );
    }
    return keptSecret(setting.dataDir);
  }
  // An HTTP header cannot carry leading or trailing whitespace (Node trims it), so such a secret
  // could never be sent as `x-migration-secret`: typically a newline from a secrets file.
  if (/^\s|\s$/.test(value)) {
    throw new MigrationSecretError(
      "MIGRATION_SECRET begins or ends with whitespace (a trailing newline from a file?), which an HTTP header cannot carry: remove it.",
    );
  }
  const length = [...value].length;
  if (strict && length < MIN_PRODUCTION_SECRET_LENGTH) {
    throw new MigrationSecretError(
      `MIGRATION_SECRET is too short: ${length} character${length === 1 ? "" : "s"}, and ${where} it must be at least ${MIN_PRODUCTION_SECRET_LENGTH}; use a random one, e.g. the output of \`openssl rand -base64 32\`.`,
    );
  }
  return { value, source: "environment" };
}

/** The secret kept in `dataDir`, made now if there is none; the file is created exclusively. */
function keptSecret(dataDir: string): MigrationSecret {
  const file = join(dataDir, GENERATED_SECRET_FILE);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const made = randomBytes(32).toString("base64url");
  // Written whole to a file of its own, then linked into place — `link` fails if the name exists —
  // so of two Studios starting on one directory, one keeps its secret and the other reads it,
  // never a half-written file.
  const draft = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
  try {
    writeFileSync(draft, `${made}\n`, { mode: 0o600, flag: "wx" });
    linkSync(draft, file);
    return { value: made, source: "generated", file };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
      throw new MigrationSecretError(
        `MIGRATION_SECRET is not set, and the one Studio generates could not be kept in ${file}: ${(error as Error).message}`,
      );
    }
  } finally {
    rmSync(draft, { force: true });
  }
  // Someone may have loosened it (a copy, an editor); it is a password.
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  const kept = readFileSync(file, "utf8").trim();
  if (kept === "") {
    throw new MigrationSecretError(
      `MIGRATION_SECRET is not set, and ${file}, where Studio keeps the one it generated, is empty: delete it to have a new one generated, or set MIGRATION_SECRET.`,
    );
  }
  return { value: kept, source: "kept", file };
}
