import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { inlineQueries, parameterisedQueries } from "./tracking-queries.ts";
import { inline, raw, trackingSql } from "./tracking-sql.ts";

// Values with everything that needs escaping, and the `$` that inlining must leave alone.
const name = "001_it's_$1_\\_x";
const actor = `o'brien "ops" \\ $$ $2 ; -- /*`;
const ELAPSED = "(extract(epoch from clock_timestamp()) * 1000)::int";
const upSql = "create table t (s text default 'it''s \\ $$ here');\r\n";
const CURRENT_SQL = "substr(current_query(), 10, 20)";

/** [label, precompiled, the same query built by Kysely] for $n parameters and for inlining. */
const cases = [
  ["lockUnit", () => trackingSql.lockUnit(), (q: typeof parameterisedQueries) => q.lockUnit()],
  [
    "selectRecords",
    () => trackingSql.selectRecords(),
    (q: typeof parameterisedQueries) => q.selectRecords(),
  ],
  [
    "selectStatus",
    () => trackingSql.selectStatus(name),
    (q: typeof parameterisedQueries) => q.selectStatus(name),
  ],
  [
    "selectUnfinishedBy",
    () => trackingSql.selectUnfinishedBy(name),
    (q: typeof parameterisedQueries) => q.selectUnfinishedBy(name),
  ],
  [
    "selectAttemptRevoked",
    () => trackingSql.selectAttemptRevoked(name, "[attempt 1f]"),
    (q: typeof parameterisedQueries) => q.selectAttemptRevoked(name, "[attempt 1f]"),
  ],
  ...[12, null].map(
    (executionTimeMs) =>
      [
        `upsertApplied (${executionTimeMs})`,
        () =>
          trackingSql.upsertApplied({
            migrationName: name,
            actor,
            checksum: "c",
            executionTimeMs,
            upSql: executionTimeMs === null ? null : upSql,
            transactional: executionTimeMs === null ? null : true,
          }),
        (q: typeof parameterisedQueries) =>
          q.upsertApplied({
            migrationName: name,
            actor,
            checksum: "c",
            executionTimeMs,
            upSql: executionTimeMs === null ? null : upSql,
            transactional: executionTimeMs === null ? null : true,
          }),
      ] as const,
  ),
  [
    "upsertFailed",
    () =>
      trackingSql.upsertFailed({
        migrationName: name,
        actor,
        checksum: "c",
        executionTimeMs: null,
        errorMessage: 'relation "x" doesn\'t exist',
        upSql,
        transactional: false,
      }),
    (q: typeof parameterisedQueries) =>
      q.upsertFailed({
        migrationName: name,
        actor,
        checksum: "c",
        executionTimeMs: null,
        errorMessage: 'relation "x" doesn\'t exist',
        upSql,
        transactional: false,
      }),
  ],
  [
    "markRolledBack",
    () => trackingSql.markRolledBack({ migrationName: name, actor }),
    (q: typeof parameterisedQueries) => q.markRolledBack({ migrationName: name, actor }),
  ],
  [
    "markRollbackAttempt",
    () =>
      trackingSql.markRollbackAttempt({
        migrationName: name,
        errorMessage: actor,
        executionTimeMs: 7,
      }),
    (q: typeof parameterisedQueries) =>
      q.markRollbackAttempt({ migrationName: name, errorMessage: actor, executionTimeMs: 7 }),
  ],
  [
    "setChecksum",
    () => trackingSql.setChecksum({ migrationName: name, checksum: "abc" }),
    (q: typeof parameterisedQueries) => q.setChecksum({ migrationName: name, checksum: "abc" }),
  ],
  [
    "insertEvent",
    () =>
      trackingSql.insertEvent({
        migrationName: name,
        action: "apply",
        outcome: "failed",
        actor,
        executionTimeMs: 3,
        errorMessage: "it's \\ broken",
        checksum: null,
      }),
    (q: typeof parameterisedQueries) =>
      q.insertEvent({
        migrationName: name,
        action: "apply",
        outcome: "failed",
        actor,
        executionTimeMs: 3,
        errorMessage: "it's \\ broken",
        checksum: null,
      }),
  ],
] as const;

describe("precompiled tracking queries", () => {
  it.each(cases)("%s is exactly what Kysely compiles, with $n parameters", (_, mine, kysely) => {
    const built = kysely(parameterisedQueries);
    const precompiled = mine();
    expect(precompiled.sql).toBe(built.sql);
    expect(precompiled.parameters).toEqual(built.parameters);
  });

  it.each(cases)("%s is exactly what Kysely compiles, inlined", (_, mine, kysely) => {
    expect(inline(mine())).toBe(kysely(inlineQueries).sql);
  });

  it("inlines SQL computed inside a batch where Kysely takes an expression", () => {
    expect(
      inline(
        trackingSql.upsertApplied({
          migrationName: name,
          actor,
          checksum: "c",
          executionTimeMs: raw(ELAPSED),
          upSql: raw(CURRENT_SQL),
          transactional: true,
        }),
      ),
    ).toBe(
      inlineQueries.upsertApplied({
        migrationName: name,
        actor,
        checksum: "c",
        executionTimeMs: sql.raw(ELAPSED),
        upSql: sql.raw(CURRENT_SQL),
        transactional: true,
      }).sql,
    );
    const event = {
      migrationName: name,
      action: "rollback",
      outcome: "succeeded",
      actor,
      errorMessage: null,
      checksum: "c",
    } as const;
    expect(inline(trackingSql.insertEvent({ ...event, executionTimeMs: raw(ELAPSED) }))).toBe(
      inlineQueries.insertEvent({ ...event, executionTimeMs: sql.raw(ELAPSED) }).sql,
    );
  });
});
