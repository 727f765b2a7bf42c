import { PGlite } from "@electric-sql/pglite";
import {
  type AttemptLog,
  createMigrationEngine,
  LockBusyError,
  loadMigrationTexts,
  MigrationBlockedError,
  type MigrationText,
  memorySource,
} from "@studio/migrations-core";
import pg from "pg";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createPGliteExecutor } from "./index.ts";
import { freshTrackingTables, type PostgresTarget, postgresTarget } from "./test-targets.ts";
import { TRACKING_TABLES_SQL, TRACKING_UPGRADE_SQL } from "./tracking-schema.ts";
import { RUNNER_LOCK } from "./tracking-sql.ts";
import { applyClaimBatch, rollbackClaimBatch } from "./unit-batch.ts";

// SPEC §3: one event for every attempt, successful or not. A `transaction:false` section whose
// runner died between its claim and its record never wrote one; the first operation that writes
// under the lock and finds it interrupted writes it — once, and never for one still running.

const NAME = "001_slow_index";
const texts: MigrationText[] = [
  {
    name: NAME,
    sql: "-- migrate:up transaction:false\ncreate table slow (id int);\n-- migrate:down transaction:false\ndrop table slow;\n",
  },
  { name: "002_after", sql: "-- migrate:up\ncreate table after_slow (id int);\n" },
];
const [loaded] = loadMigrationTexts(texts).migrations;
if (loaded === undefined) throw new Error("the test's migration does not load");
/** 001 as its runner sends it. */
const migration = { name: NAME, sql: loaded.up, transactional: false, checksum: loaded.checksum };

interface EventRow {
  action: string;
  outcome: string;
  actor: string | null;
  execution_time_ms: number | null;
  error_message: string | null;
  checksum: string | null;
  resolution: string | null;
}

const INTERRUPTED_APPLY =
  /^interrupted: started by replica-1 at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z and its runner stopped before it finished, so part of it may have run \(detected by ops at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\)$/;

/** The one log line (SPEC §6) of replica-1's interrupted apply. */
const INTERRUPTED_APPLY_LINE: AttemptLog = {
  migrationName: NAME,
  action: "apply",
  outcome: "failed",
  executionTimeMs: null,
  actor: "replica-1",
  error: expect.stringMatching(INTERRUPTED_APPLY),
};

describe.each(["pg", "pg-meta"] as const)(
  "an interrupted attempt's failed event, over %s",
  (kind) => {
    let target: PostgresTarget;
    let side: pg.Client;
    beforeAll(async () => {
      target = await postgresTarget(kind);
      side = await target.connect();
    });
    afterAll(() => target?.dispose());
    beforeEach(async () => {
      await freshTrackingTables(side, "slow");
    });

    /** Every engine's attempt lines (SPEC §6), in the order written. */
    let logged: AttemptLog[] = [];
    beforeEach(() => {
      logged = [];
    });
    const engine = () =>
      createMigrationEngine({
        executor: target.executor(),
        source: memorySource(texts),
        lockTimeoutMs: 2_000,
        onAttempt: (line) => logged.push(line),
      });
    /** The claim `replica-1`'s runner committed before its process was killed: nothing after it. */
    const killedAfterClaim = () => side.query(applyClaimBatch(migration, "replica-1"));
    const events = async () =>
      (
        await side.query<EventRow>(
          `select action, outcome, actor, execution_time_ms, error_message, checksum, resolution
         from platform.schema_migration_events where migration_name = '${NAME}' order by id`,
        )
      ).rows;

    it("is written by the apply it blocks, naming who started it, when, and who found it", async () => {
      await killedAfterClaim();
      const claimedAt = (
        await side.query<{ at: string }>(
          `select to_char(applied_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as at from platform.schema_migrations`,
        )
      ).rows[0]?.at;

      await expect(engine().apply({ actor: "ops" })).rejects.toBeInstanceOf(MigrationBlockedError);

      const written = await events();
      expect(written).toEqual([
        {
          action: "apply",
          outcome: "failed",
          actor: "replica-1",
          execution_time_ms: null,
          error_message: expect.stringMatching(INTERRUPTED_APPLY),
          checksum: migration.checksum,
          resolution: null,
        },
      ]);
      expect(written[0]?.error_message).toContain(`started by replica-1 at ${claimedAt} `);
      // The row is untouched: still interrupted, still blocking, until an operator resolves it.
      expect(
        (
          await side.query(
            "select status, execution_time_ms, applied_by from platform.schema_migrations",
          )
        ).rows,
      ).toEqual([{ status: "failed", execution_time_ms: null, applied_by: "replica-1" }]);
    });

    it("is written once, however many appliers find it, together or one after another", async () => {
      await killedAfterClaim();
      const together = await Promise.allSettled([
        engine().apply({ actor: "ops" }),
        engine().apply({ actor: "ops" }),
      ]);
      expect(together.map((outcome) => outcome.status)).toEqual(["rejected", "rejected"]);
      await expect(engine().apply({ actor: "ops" })).rejects.toBeInstanceOf(MigrationBlockedError);
      await expect(engine().baseline({ upTo: "002_after", actor: "ops" })).rejects.toBeInstanceOf(
        MigrationBlockedError,
      );

      expect((await events()).map((e) => [e.action, e.outcome, e.actor])).toEqual([
        ["apply", "failed", "replica-1"],
      ]);
      // Logged once too, by whichever applier wrote it: its runner never logged how it ended.
      expect(logged).toEqual([INTERRUPTED_APPLY_LINE]);
    });

    it("comes before the resolve that clears it", async () => {
      await killedAfterClaim();

      await engine().resolve({ migrationName: NAME, as: "rolled_back", actor: "ops" });

      const written = await events();
      expect(written.map((e) => [e.action, e.outcome, e.actor, e.resolution])).toEqual([
        ["apply", "failed", "replica-1", null],
        ["resolve", "succeeded", "ops", "rolled_back"],
      ]);
      expect(written[0]?.error_message).toMatch(INTERRUPTED_APPLY);
      // The retry is a new attempt, which records its own outcome; nothing more is owed.
      expect((await engine().apply({ actor: "ops" })).failed).toBeNull();
      expect((await events()).map((e) => [e.action, e.outcome])).toEqual([
        ["apply", "failed"],
        ["resolve", "succeeded"],
        ["apply", "succeeded"],
      ]);
    });

    it("is never written while the runner is still working on it", async () => {
      await killedAfterClaim();
      // The runner's sign of life, as a live runner on a session holds it (see RUNNING_SQL).
      const runner = new pg.Client({ connectionString: target.url });
      await runner.connect();
      try {
        await runner.query(`select pg_advisory_lock(${RUNNER_LOCK}, hashtext('${NAME}'))`);
        await expect(engine().apply({ actor: "ops" })).rejects.toBeInstanceOf(LockBusyError);
        // Straight to the executor, as an operation planned on a read from before the runner
        // started would ask: the statement itself checks, under the lock.
        await target
          .executor()
          .recordChanges(
            [{ kind: "record_interrupted", migrationName: NAME, action: "apply" }],
            "ops",
          );
        expect(await events()).toEqual([]);
      } finally {
        await runner.end();
      }

      // Its session gone, the attempt is interrupted: now it is owed its event.
      await expect(engine().apply({ actor: "ops" })).rejects.toBeInstanceOf(MigrationBlockedError);
      expect((await events()).map((e) => [e.action, e.outcome, e.actor])).toEqual([
        ["apply", "failed", "replica-1"],
      ]);
      // Logged once too, by whichever applier wrote it: its runner never logged how it ended.
      expect(logged).toEqual([INTERRUPTED_APPLY_LINE]);
    });

    it("records an interrupted down section as a failed rollback by whoever started it", async () => {
      expect((await engine().apply({ actor: "deployer", migrationName: NAME })).failed).toBeNull();
      await side.query(rollbackClaimBatch(migration, "replica-1"));

      await engine().resolve({ migrationName: NAME, as: "applied", actor: "ops" });

      const written = await events();
      expect(written.map((e) => [e.action, e.outcome, e.actor, e.resolution])).toEqual([
        ["apply", "succeeded", "deployer", null],
        ["rollback", "failed", "replica-1", null],
        ["resolve", "succeeded", "ops", "applied"],
      ]);
      expect(written[1]?.error_message).toMatch(
        /^interrupted: started by replica-1 after \S+Z \(when it was last applied\) and its runner stopped before it finished, so part of it may have run \(detected by ops at \S+Z\)$/,
      );
    });
  },
);

describe("an interrupted attempt's failed event, over PGlite", () => {
  it("is written once by the operations that find it, before the resolve that clears it", async () => {
    const pglite = await PGlite.create();
    try {
      await pglite.exec(`${TRACKING_TABLES_SQL};\n${TRACKING_UPGRADE_SQL}`);
      await pglite.exec(applyClaimBatch(migration, "replica-1"));
      const engine = createMigrationEngine({
        executor: createPGliteExecutor({ pglite }),
        source: memorySource(texts),
      });

      await expect(engine.apply({ actor: "ops" })).rejects.toBeInstanceOf(MigrationBlockedError);
      await expect(engine.apply({ actor: "ops" })).rejects.toBeInstanceOf(MigrationBlockedError);
      await engine.resolve({ migrationName: NAME, as: "applied", actor: "ops" });

      const written = await pglite.query<EventRow>(
        "select action, outcome, actor, execution_time_ms, error_message, checksum, resolution from platform.schema_migration_events order by id",
      );
      expect(written.rows.map((e) => [e.action, e.outcome, e.actor, e.resolution])).toEqual([
        ["apply", "failed", "replica-1", null],
        ["resolve", "succeeded", "ops", "applied"],
      ]);
      expect(written.rows[0]?.error_message).toMatch(INTERRUPTED_APPLY);
    } finally {
      await pglite.close();
    }
  });
});
