import type { Migration, SqlFailure } from "@studio/migrations-core";
import { ScratchNotEmptyError, VerifyInputError } from "./errors.ts";
import { type CatalogFingerprint, objectKey, readCatalogFingerprint } from "./fingerprint.ts";
import { compareFingerprints, type FingerprintDifference } from "./fingerprint-diff.ts";
import { runSection } from "./run-section.ts";
import { openScratchDatabase, type ScratchOptions } from "./scratch.ts";

export interface VerifyOptions {
  /** The migrations, in the order they apply: e.g. what `directorySource(dir).load()` gives. */
  readonly migrations: readonly Migration[];
  /** Where to run them; a fresh in-memory PGlite database when left out. */
  readonly scratch?: ScratchOptions | undefined;
  /** Told about each migration as soon as it is verified (for progress output). */
  readonly onResult?: ((result: MigrationVerification) => void) | undefined;
}

/**
 * - `inverse`: the down section restored the schema the up found, and the up ran again gave the
 *   schema the first up gave.
 * - `not_inverse`: the schema after the down differs from the one before the up.
 * - `second_up_differs`: the down looked exact, but the up ran again gave another schema than
 *   the first time — the up depends on something its down leaves (data, a sequence's value).
 * - `irreversible`: no down section; a warning, not a failure (its up stays for the next ones).
 * - `failed`: a section failed; nothing after it is verified.
 */
export type VerifyResult =
  | "inverse"
  | "not_inverse"
  | "second_up_differs"
  | "irreversible"
  | "failed";

/** The section that failed: the first up, the down, or the up run again after the down. */
export type VerifySection = "up" | "down" | "second up";

export interface SectionFailure extends SqlFailure {
  readonly section: VerifySection;
  /** 1-based line of the section (not of the file) the failure is on, when known. */
  readonly line: number | null;
}

export interface MigrationVerification {
  readonly migrationName: string;
  readonly result: VerifyResult;
  /** How the schema after the down section differs from the schema before the up. */
  readonly downDifferences: readonly FingerprintDifference[];
  /** How the schema after the second up differs from the schema after the first. */
  readonly secondUpDifferences: readonly FingerprintDifference[];
  /** Set exactly when `result` is `failed`. */
  readonly failure: SectionFailure | null;
  /** Up, down and up again, with the fingerprints between them. */
  readonly executionTimeMs: number;
}

export interface VerifyReport {
  /** False when any migration is `not_inverse`, `second_up_differs` or `failed`. */
  readonly ok: boolean;
  /** The scratch database, as shown in messages (never a password). */
  readonly scratch: string;
  /** One per migration verified, in order; a failure is the last. */
  readonly results: readonly MigrationVerification[];
  /** The migrations after a failure, which were not run. */
  readonly notVerified: readonly string[];
}

const DOWN_WORDING = {
  extra: "left behind by the down section (not there before the up)",
  missing: "dropped by the down section (it was there before the up)",
};

const SECOND_UP_WORDING = {
  extra: "made by the second up only (the first up did not make it)",
  missing: "not made by the second up (the first up made it)",
};

/**
 * Verifies that every migration's down section is the exact inverse of its up (SPEC §9
 * *Verify*): on an empty scratch database, for each migration in order — fingerprint, up,
 * fingerprint, down, fingerprint (must equal the first), up again, fingerprint (must equal the
 * second). Each section runs as the engine runs it (in one transaction, or statement by
 * statement for `transaction:false`), in a pristine session. A migration without a down section
 * is `irreversible` and its up stays applied for the ones after it; a failing section ends the
 * run, since every later migration builds on it.
 *
 * Refuses, with a `ScratchNotEmptyError` and before anything runs, a scratch database that holds
 * any object: a down section drops what it names, so verify never runs where there is something
 * to lose. The scratch database it opens itself (PGlite) is closed when it is done; a `{ url }`
 * database keeps what the migrations left, for a look, and is for the caller to drop.
 */
export async function verifyMigrations(options: VerifyOptions): Promise<VerifyReport> {
  const migrations = checkedMigrations(options.migrations);
  const database = await openScratchDatabase(options.scratch);
  try {
    let current = await readCatalogFingerprint(database);
    const present = userObjectsIn(current);
    if (present.length > 0) throw new ScratchNotEmptyError(database.label, present);

    const results: MigrationVerification[] = [];
    const report = (result: MigrationVerification) => {
      results.push(result);
      options.onResult?.(result);
    };
    for (const [index, migration] of migrations.entries()) {
      const started = performance.now();
      const elapsed = () => Math.round(performance.now() - started);
      const before = current;
      const failed = (
        section: VerifySection,
        run: { failure: SqlFailure; line: number | null },
        downDifferences: readonly FingerprintDifference[] = [],
      ): VerifyReport => {
        report({
          migrationName: migration.name,
          result: "failed",
          downDifferences,
          secondUpDifferences: [],
          failure: { ...run.failure, section, line: run.line },
          executionTimeMs: elapsed(),
        });
        return {
          ok: false,
          scratch: database.label,
          results,
          notVerified: migrations.slice(index + 1).map((m) => m.name),
        };
      };

      const up = await runSection(database, migration.up, migration.transactional);
      if (up) return failed("up", up);
      const afterUp = await readCatalogFingerprint(database);
      current = afterUp;
      if (migration.down === null) {
        report(verification(migration, "irreversible", [], [], elapsed()));
        continue;
      }

      const down = await runSection(database, migration.down, migration.downTransactional);
      if (down) return failed("down", down);
      const afterDown = await readCatalogFingerprint(database);
      const downDifferences = compareFingerprints(before, afterDown, DOWN_WORDING);

      // When the down left something behind, an up that fails on it is reported with it: the
      // leftover is usually why.
      const again = await runSection(database, migration.up, migration.transactional);
      if (again) return failed("second up", again, downDifferences);
      const afterAgain = await readCatalogFingerprint(database);
      current = afterAgain;
      const secondUpDifferences = compareFingerprints(afterUp, afterAgain, SECOND_UP_WORDING);

      const result: VerifyResult =
        downDifferences.length > 0
          ? "not_inverse"
          : secondUpDifferences.length > 0
            ? "second_up_differs"
            : "inverse";
      report(verification(migration, result, downDifferences, secondUpDifferences, elapsed()));
    }
    return {
      ok: results.every((r) => r.result === "inverse" || r.result === "irreversible"),
      scratch: database.label,
      results,
      notVerified: [],
    };
  } finally {
    await database.close();
  }
}

function verification(
  migration: Migration,
  result: VerifyResult,
  downDifferences: readonly FingerprintDifference[],
  secondUpDifferences: readonly FingerprintDifference[],
  executionTimeMs: number,
): MigrationVerification {
  return {
    migrationName: migration.name,
    result,
    downDifferences,
    secondUpDifferences,
    failure: null,
    executionTimeMs,
  };
}

function checkedMigrations(migrations: readonly Migration[]): readonly Migration[] {
  if (!Array.isArray(migrations)) {
    throw new VerifyInputError("migrations must be a list of loaded migrations.");
  }
  const seen = new Set<string>();
  for (const migration of migrations) {
    if (seen.has(migration.name)) {
      throw new VerifyInputError(
        `${migration.name} is given twice: each migration is verified once, in order.`,
      );
    }
    seen.add(migration.name);
  }
  return migrations;
}

/**
 * What a database holds beyond what every new database has (the `public` schema, its grants, and
 * the `plpgsql` extension), as fingerprint keys: only the outermost objects (`schema app`, not
 * also each of its tables).
 */
export function userObjectsIn(fingerprint: CatalogFingerprint): string[] {
  const own = fingerprint.objects.filter(
    (object) =>
      !(object.kind === "schema" && object.identity === "public") &&
      !(object.kind === "grant" && object.parent === "schema public") &&
      !(object.kind === "extension" && object.identity === "plpgsql"),
  );
  const keys = new Set(own.map(objectKey));
  return own.filter((object) => object.parent === null || !keys.has(object.parent)).map(objectKey);
}
