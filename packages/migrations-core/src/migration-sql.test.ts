import { describe, expect, it } from "vitest";
import { createMigrationEngine } from "./engine.ts";
import { InvalidInputError, MigrationNotFoundError } from "./errors.ts";
import type { Executor } from "./executor.ts";
import { loadMigrationTexts, type MigrationText } from "./sources.ts";
import {
  createMemoryDatabase,
  type InjectedFailure,
  MemoryExecutor,
} from "./testing/memory-executor.ts";

// `engine.sql`: one migration's SQL on demand — the file's sections and the up section as it ran
// (`up_sql`), so that a page can show applied SQL and drift as a diff — while `list` carries none.

// The up section ends at the line break before `-- migrate:down`, which is not its own; the down
// section runs to the end of the file.
const CREATE = "CREATE TABLE widgets (id int);";
const DROP = "DROP TABLE widgets;\n";
const widgets = (up = CREATE): MigrationText => ({
  name: "001_widgets",
  sql: `-- migrate:up\n${up}\n-- migrate:down\n${DROP}`,
});
const concurrently: MigrationText = {
  name: "002_index",
  sql: "-- migrate:up transaction:false\nCREATE TABLE gadgets (id int);\nCREATE INDEX CONCURRENTLY i ON gadgets (id);\n",
};

function setup(initial: MigrationText[], failures: InjectedFailure[] = []) {
  const texts = [...initial];
  const database = createMemoryDatabase();
  const executor = new MemoryExecutor({ database, failures });
  const engine = createMigrationEngine({
    executor,
    source: { load: async () => loadMigrationTexts(texts) },
    lockTimeoutMs: 100,
  });
  /** Replaces (or removes, with `null`) a file, as an edit on disk would. */
  const edit = (name: string, text: MigrationText | null) => {
    const index = texts.findIndex((t) => t.name === name);
    if (text === null) texts.splice(index, 1);
    else texts[index] = text;
  };
  return { engine, executor, database, edit };
}

describe("engine.sql", () => {
  it("reads a pending migration's up and down sections from its file, with nothing recorded", async () => {
    const { engine } = setup([widgets()]);
    expect(await engine.sql({ migrationName: "001_widgets" })).toEqual({
      migrationName: "001_widgets",
      up: CREATE,
      down: DROP,
      transactional: true,
      downTransactional: true,
      recordedUp: null,
      recordedUpReadable: true,
    });
  });

  it("keeps the up section as it ran, so an edit after applying shows against it", async () => {
    const { engine, database, edit } = setup([widgets()]);
    await engine.apply({ actor: "ops" });
    const edited = "CREATE TABLE widgets (id int); -- reformatted";
    edit("001_widgets", widgets(edited));

    const sql = await engine.sql({ migrationName: "001_widgets" });
    expect(sql.up).toBe(edited);
    expect(sql.recordedUp).toBe(CREATE);
    const list = await engine.list();
    expect(list.migrations[0]?.checksum.state).toBe("drift");
    // Accepting the new checksum records a decision, not a run: what ran stays what ran.
    await engine.resolve({ migrationName: "001_widgets", as: "accept_checksum", actor: "ops" });
    expect((await engine.sql({ migrationName: "001_widgets" })).recordedUp).toBe(CREATE);
    expect(database.records.get("001_widgets")?.status).toBe("applied");
  });

  it("keeps the recorded SQL after a rollback, and replaces it when the migration runs again", async () => {
    const { engine, edit } = setup([widgets()]);
    await engine.apply({ actor: "ops" });
    await engine.rollback({ migrationName: "001_widgets", actor: "ops" });
    expect((await engine.sql({ migrationName: "001_widgets" })).recordedUp).toBe(CREATE);

    const second = "CREATE TABLE widgets (id bigint);";
    edit("001_widgets", widgets(second));
    await engine.apply({ actor: "ops" });
    expect((await engine.sql({ migrationName: "001_widgets" })).recordedUp).toBe(second);
  });

  it("records no SQL for a baseline, which runs nothing", async () => {
    const { engine, database } = setup([widgets()]);
    await engine.baseline({ upTo: "001_widgets", actor: "ops" });
    expect(database.executed).toEqual([]);
    expect(await engine.sql({ migrationName: "001_widgets" })).toMatchObject({
      up: CREATE,
      recordedUp: null,
      recordedUpReadable: true,
    });
  });

  it("keeps nothing of a failure inside a transaction, and the SQL of one outside a transaction", async () => {
    const { engine } = setup(
      [widgets(), concurrently],
      [{ migrationName: "001_widgets" }, { migrationName: "002_index", statementIndex: 1 }],
    );
    await engine.apply({ migrationName: "001_widgets", actor: "ops" });
    expect((await engine.sql({ migrationName: "001_widgets" })).recordedUp).toBeNull();

    const { engine: other } = setup(
      [concurrently],
      [{ migrationName: "002_index", statementIndex: 1 }],
    );
    await other.apply({ actor: "ops" });
    const sql = await other.sql({ migrationName: "002_index" });
    expect(sql.transactional).toBe(false);
    expect(sql.recordedUp).toBe(sql.up);
    expect(sql.recordedUp).toContain("CREATE INDEX CONCURRENTLY");
  });

  it("answers for a recorded migration whose file is gone: no sections, the SQL that ran", async () => {
    const { engine, edit } = setup([widgets()]);
    await engine.apply({ actor: "ops" });
    edit("001_widgets", null);
    expect(await engine.sql({ migrationName: "001_widgets" })).toMatchObject({
      up: null,
      down: null,
      recordedUp: CREATE,
    });
  });

  it("says the recorded SQL cannot be read when the executor has no readRecordedSql", async () => {
    const database = createMemoryDatabase();
    const memory = new MemoryExecutor({ database });
    // An executor of the interface's required methods only, as one written before the option was.
    const plain: Executor = {
      kind: memory.kind,
      lockScope: memory.lockScope,
      readState: () => memory.readState(),
      acquireLock: (options) => memory.acquireLock(options),
      applyMigration: (request) => memory.applyMigration(request),
      rollbackMigration: (request) => memory.rollbackMigration(request),
      recordChanges: (changes, actor) => memory.recordChanges(changes, actor),
      readEvents: (query) => memory.readEvents(query),
      readForeignVersions: (source) => memory.readForeignVersions(source),
      close: () => memory.close(),
    };
    const engine = createMigrationEngine({
      executor: plain,
      source: { load: async () => loadMigrationTexts([widgets()]) },
    });
    await engine.apply({ actor: "ops" });
    expect(database.recordedSql.get("001_widgets")).toBe(CREATE);
    expect(await engine.sql({ migrationName: "001_widgets" })).toMatchObject({
      up: CREATE,
      recordedUp: null,
      recordedUpReadable: false,
    });
  });

  it("refuses a name that no file and no record knows, and one that is not a migration name", async () => {
    const { engine } = setup([widgets()]);
    await expect(engine.sql({ migrationName: "999_nothing" })).rejects.toBeInstanceOf(
      MigrationNotFoundError,
    );
    await expect(engine.sql({ migrationName: "../etc/passwd" })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
  });

  it("leaves every migration's SQL out of list", async () => {
    const { engine } = setup([widgets()]);
    const report = await engine.list();
    expect(report.pending).toHaveLength(1);
    for (const view of report.migrations) {
      expect(Object.values(view)).not.toContain(CREATE);
      expect(view).not.toHaveProperty("upSql");
    }
  });
});
