import { type Executor, LockBusyError } from "@studio/migrations-core";
import { createPostgresExecutor } from "@studio/migrations-postgres";
import { createTestDatabase, getTestServer, type TestDatabase } from "@studio/test-postgres";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { applySteps, describeRun, directArgs, runCli } from "./support/cli.ts";
import { APPLIERS, ROUNDS } from "./support/config.ts";
import { catalog, exactlyOnceViolations } from "./support/database.ts";
import {
  MIGRATION_NAMES,
  migrationSet,
  removeAllDirs,
  removeDir,
  writeMigrationsDir,
} from "./support/migrations.ts";
import { type PgBouncer, pgbouncerUnavailable, startPgBouncer } from "./support/pgbouncer.ts";
import { Figures } from "./support/summary.ts";

const unavailable = pgbouncerUnavailable();
if (unavailable) console.warn(`[reliability] PgBouncer tests SKIPPED: ${unavailable}`);

const figures = new Figures("through PgBouncer (transaction pooling)");
const POOL_SIZE = 3;

describe.skipIf(unavailable !== null)(
  "appliers connected through PgBouncer in transaction pooling mode",
  () => {
    let bouncer: PgBouncer;
    let control: TestDatabase;
    let serial: string[];

    beforeAll(async () => {
      const server = await getTestServer();
      control = await createTestDatabase("bouncer_control");
      bouncer = await startPgBouncer({
        serverUrl: server.adminUrl,
        poolSize: POOL_SIZE,
        aliases: { one_connection: { database: control.name, poolSize: 1 } },
      });
      const reference = await createTestDatabase("bouncer_serial");
      const dir = writeMigrationsDir(migrationSet());
      try {
        const run = await runCli(directArgs(["apply"], reference.url, dir));
        expect(run.code, describeRun(run)).toBe(0);
        serial = await catalog(reference.url);
      } finally {
        await reference.drop();
        removeDir(dir);
      }
    });
    afterAll(async () => {
      figures.print();
      await bouncer?.stop();
      await control?.drop();
      removeAllDirs();
    });

    it("really shares server connections between clients: a session lock excludes nothing", async () => {
      // The hazard, shown: what one client's session lock guards, another client is let into,
      // because both are served by the same server connection.
      const first = new pg.Client({ connectionString: bouncer.urlFor("one_connection") });
      const second = new pg.Client({ connectionString: bouncer.urlFor("one_connection") });
      await first.connect();
      await second.connect();
      try {
        const a = await first.query("select pg_advisory_lock(4242), pg_backend_pid() as pid");
        const b = await second.query(
          "select pg_try_advisory_lock(4242) as locked, pg_backend_pid() as pid",
        );
        expect(b.rows[0].pid).toBe(a.rows[0].pid);
        expect(b.rows[0].locked).toBe(true);
        await first.query("select pg_advisory_unlock_all()");
      } finally {
        await first.end();
        await second.end();
      }
    });

    it("keeps the run lock exclusive: a second applier gets LOCK_BUSY naming the holder", async () => {
      const database = await createTestDatabase("bouncer_lock");
      const executors: Executor[] = [];
      const executor = () => {
        const made = createPostgresExecutor({ connection: bouncer.urlFor(database.name) });
        executors.push(made);
        return made;
      };
      try {
        const held = await executor().acquireLock({ timeoutMs: 1_000, holder: "first-applier" });
        // Busy clients on every pooled connection meanwhile, so the holder's server connection
        // would be handed to them if the lock did not pin it.
        const busy = Array.from({ length: POOL_SIZE * 2 }, () =>
          executor()
            .readState()
            .catch(() => []),
        );
        const second = executor().acquireLock({ timeoutMs: 700, holder: "second-applier" });
        await expect(second).rejects.toBeInstanceOf(LockBusyError);
        await expect(second).rejects.toThrow(/first-applier/);
        await Promise.all(busy);
        await held.release();
        const next = await executor().acquireLock({ timeoutMs: 2_000, holder: "second-applier" });
        await next.release();
        figures.add("lock exclusion checks");
      } finally {
        await Promise.all(executors.map((e) => e.close()));
        await database.drop();
      }
    });

    it(`applies every migration exactly once when ${APPLIERS} processes race through it, ${ROUNDS} rounds`, async () => {
      for (let round = 1; round <= ROUNDS; round++) {
        const files = migrationSet({ round });
        const dir = writeMigrationsDir(files);
        const database = await createTestDatabase("bouncer_race");
        try {
          const url = bouncer.urlFor(database.name);
          const runs = await Promise.all(
            Array.from({ length: APPLIERS }, (_, i) =>
              runCli([...directArgs(["apply"], url, dir), "--actor", `bouncer-r${round}-a${i}`]),
            ),
          );
          for (const run of runs) {
            if (run.code !== 0) {
              expect(run.json?.error?.code, describeRun(run)).toBe("LOCK_BUSY");
              figures.add("lock busy");
            }
          }
          const applied: Record<string, number> = {};
          for (const step of runs.flatMap(applySteps)) {
            expect(["applied", "already_applied"]).toContain(step.status);
            if (step.status === "applied")
              applied[step.migrationName] = (applied[step.migrationName] ?? 0) + 1;
          }
          expect(applied, `round ${round}`).toEqual(
            Object.fromEntries(MIGRATION_NAMES.map((n) => [n, 1])),
          );
          expect(await exactlyOnceViolations(database.url, files), `round ${round}`).toEqual([]);
          expect(await catalog(database.url), `round ${round}`).toEqual(serial);
          figures.add("rounds");
          figures.add("appliers", runs.length);
          figures.add("migrations applied exactly once", files.length);
        } finally {
          await database.drop();
          removeDir(dir);
        }
      }
    });
  },
);
