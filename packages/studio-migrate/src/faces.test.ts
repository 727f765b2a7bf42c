import {
  createMigrationEngine,
  foreignTableOf,
  InvalidInputError,
  isMigrationFileName,
  memorySource,
} from "@studio/migrations-core";
import {
  FOREIGN_TABLE_NAME,
  isValidActor,
  isValidHistoryCursor,
  isValidHistoryLimit,
  isValidMigrationName,
  MAX_ACTOR_LENGTH,
  MAX_HISTORY_LIMIT,
  MAX_MIGRATION_NAME_LENGTH,
} from "@studio/migrations-core/rules";
import { MemoryExecutor } from "@studio/migrations-core/testing";
import {
  ACTOR_HEADER,
  adoptInput,
  applyInput,
  authenticateSecretHeaders,
  historyInput,
  rollbackInput,
  SECRET_HEADER,
} from "@studio/migrations-trpc";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseInvocation } from "./args.ts";
import { UsageError } from "./failures.ts";
import { resolveTarget } from "./target.ts";

// The rules of `@studio/migrations-core/rules`, as each face applies them: the CLI's argv, tRPC's
// inputs (which Studio's REST bodies reuse), the secret-header authentication (Studio's and the
// test host's) and the engine itself. Whatever one accepts, every other accepts.

const SECRET = "faces-secret";
const engine = createMigrationEngine({ executor: new MemoryExecutor(), source: memorySource([]) });

/** Whether the CLI takes `argv` (a usage error says it does not). */
function cliTakes(argv: string[]): boolean {
  try {
    parseInvocation(argv);
    return true;
  } catch (error) {
    if (error instanceof UsageError) return false;
    throw error;
  }
}

/** Whether the engine gets past its input checks (an `InvalidInputError` says it does not). */
async function engineTakes(run: () => Promise<unknown>): Promise<boolean> {
  try {
    await run();
    return true;
  } catch (error) {
    if (error instanceof InvalidInputError) return false;
    return true;
  }
}

function cliTakesActor(actor: string): boolean {
  const flags = {
    url: null,
    secret: null,
    actor,
    databaseUrl: "postgres://db",
    migrationsDir: null,
    timeoutMs: null,
  };
  const io = { env: {}, cwd: "/", stdout: { write() {} }, stderr: { write() {} } };
  try {
    resolveTarget(flags, io);
    return true;
  } catch (error) {
    if (error instanceof UsageError) return false;
    throw error;
  }
}

const NAME_CHARS = [..."0123456789_-.aZ/ \n\t'é;"];
const names = fc.oneof(
  fc.constantFrom(
    "",
    "008_add_active_org_tracking",
    "20240101120000_create-users-table",
    "20240101120000",
    "008_",
    "008-",
    "008_a..b",
    "008_add.sql",
    "../008_x",
    "008_x\n",
    "abc",
    `1_${"a".repeat(MAX_MIGRATION_NAME_LENGTH - 2)}`,
    `1_${"a".repeat(MAX_MIGRATION_NAME_LENGTH - 1)}`,
  ),
  fc.string({ unit: fc.constantFrom(...NAME_CHARS), maxLength: 12 }),
  fc
    .tuple(fc.stringMatching(/^[0-9]{1,4}$/), fc.string({ unit: fc.constantFrom(...NAME_CHARS) }))
    .map(([version, rest]) => `${version}_${rest}`),
);

const actors = fc.oneof(
  fc.constantFrom(
    "",
    "   ",
    "secret",
    "deploy@ci",
    "cli:root@vm",
    "Ada Lovelace",
    " padded ",
    "tab\there",
    "new\nline",
    "del\u007f",
    "é".repeat(MAX_ACTOR_LENGTH),
    "x".repeat(MAX_ACTOR_LENGTH),
    "x".repeat(MAX_ACTOR_LENGTH + 1),
  ),
  fc.string({ unit: "binary", maxLength: 20 }),
  fc.string({ minLength: MAX_ACTOR_LENGTH - 2, maxLength: MAX_ACTOR_LENGTH + 2 }),
);

describe("every face applies the core's rules alike", () => {
  it("takes exactly the migration names the loader loads", async () => {
    await fc.assert(
      fc.asyncProperty(names, async (name) => {
        const valid = isValidMigrationName(name);
        expect(isMigrationFileName(`${name}.sql`), "loader").toBe(valid);
        expect(cliTakes(["apply", `--to=${name}`]), "CLI apply --to").toBe(valid);
        expect(cliTakes(["rollback", `--to=${name}`]), "CLI rollback --to").toBe(valid);
        expect(applyInput.safeParse({ migrationName: name }).success, "tRPC apply").toBe(valid);
        expect(rollbackInput.safeParse({ to: name }).success, "tRPC rollback").toBe(valid);
        expect(
          await engineTakes(() => engine.apply({ migrationName: name, actor: "faces" })),
          "engine",
        ).toBe(valid);
      }),
    );
  });

  it("takes exactly the actors the rule allows", async () => {
    await fc.assert(
      fc.asyncProperty(actors, async (actor) => {
        const valid = isValidActor(actor);
        expect(cliTakesActor(actor), "CLI --actor").toBe(valid);
        const headers = { [SECRET_HEADER]: SECRET, [ACTOR_HEADER]: actor };
        expect(authenticateSecretHeaders(headers, SECRET).ok, "x-migration-actor").toBe(valid);
        expect(await engineTakes(() => engine.apply({ actor })), "engine").toBe(valid);
      }),
    );
  });

  it("takes exactly the history pages and cursors the rule allows", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: -2, max: MAX_HISTORY_LIMIT + 2 }),
        fc.oneof(
          fc.stringMatching(/^[0-9]{1,21}$/),
          fc.constantFrom("9223372036854775807", "9223372036854775808", "0", "01"),
          fc.string({ maxLength: 4 }),
        ),
        async (limit, cursor) => {
          const limitValid = isValidHistoryLimit(limit);
          expect(cliTakes(["history", `--limit=${limit}`]), "CLI --limit").toBe(limitValid);
          expect(historyInput.safeParse({ limit }).success, "tRPC limit").toBe(limitValid);
          expect(await engineTakes(() => engine.history({ limit })), "engine limit").toBe(
            limitValid,
          );

          const cursorValid = isValidHistoryCursor(cursor);
          expect(cliTakes(["history", `--cursor=${cursor}`]), "CLI --cursor").toBe(cursorValid);
          expect(historyInput.safeParse({ cursor }).success, "tRPC cursor").toBe(cursorValid);
          expect(await engineTakes(() => engine.history({ cursor })), "engine cursor").toBe(
            cursorValid,
          );
        },
      ),
    );
  });

  it("takes exactly the adopt tables the rule allows", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.constantFrom("schema_migrations", "public.schema_migrations", "a.b.c", "1x", "x y"),
          fc.string({ unit: fc.constantFrom(...'ab_$1." '), maxLength: 8 }),
        ),
        (table) => {
          const valid = FOREIGN_TABLE_NAME.test(table);
          const argv = ["adopt", "--from", "dbmate", `--table=${table}`];
          expect(cliTakes(argv), "CLI --table").toBe(valid);
          expect(adoptInput.safeParse({ from: "dbmate", table }).success, "tRPC").toBe(valid);
          let engineTakesIt = true;
          try {
            foreignTableOf({ kind: "dbmate", table });
          } catch (error) {
            if (!(error instanceof InvalidInputError)) throw error;
            engineTakesIt = false;
          }
          expect(engineTakesIt, "engine").toBe(valid);
        },
      ),
    );
  });
});
