import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { inlineQueries } from "./tracking-queries.ts";
import { trackingSql } from "./tracking-sql.generated.ts";
import { inline, raw } from "./tracking-sql.ts";
import { GENERATE_COMMAND, GENERATED_FILE, generateTrackingSql } from "./tracking-sql-generator.ts";

// Values with everything that needs escaping, and the `$` that inlining must leave alone.
const name = "001_it's_$1_\\_x";
const actor = `o'brien "ops" \\ $$ $2 ; -- /*`;
const upSql = "create table t (s text default 'it''s \\ $$ here');\r\n";

type QueryName = keyof typeof trackingSql;

/** Each query as Kysely compiles it with its values inlined, called with values that need escaping. */
const kysely: Record<QueryName, () => { sql: string }> = {
  lockUnit: () => inlineQueries.lockUnit(),
  selectRecords: () => inlineQueries.selectRecords(),
  selectStatus: () => inlineQueries.selectStatus({ migrationName: name }),
  selectState: () => inlineQueries.selectState({ migrationName: name }),
  selectRecordedSql: () => inlineQueries.selectRecordedSql({ migrationName: name }),
  selectUnfinishedBy: () => inlineQueries.selectUnfinishedBy({ migrationName: name }),
  selectAttemptRevoked: () =>
    inlineQueries.selectAttemptRevoked({
      migrationName: name,
      action: "rollback",
      marker: "[attempt 1f]",
    }),
  upsertApplied: () => inlineQueries.upsertApplied(upsertAppliedValues),
  upsertFailed: () => inlineQueries.upsertFailed(upsertFailedValues),
  markRolledBack: () => inlineQueries.markRolledBack({ migrationName: name, actor }),
  markRollbackAttempt: () =>
    inlineQueries.markRollbackAttempt({
      migrationName: name,
      errorMessage: actor,
      executionTimeMs: 7,
    }),
  setChecksum: () => inlineQueries.setChecksum({ migrationName: name, checksum: "abc" }),
  insertInterruptedEvent: () => inlineQueries.insertInterruptedEvent(interruptedEventValues),
  insertEvent: () => inlineQueries.insertEvent(eventValues),
  insertEventAnsweringTime: () => inlineQueries.insertEventAnsweringTime(eventValues),
};

const upsertAppliedValues = {
  migrationName: name,
  actor,
  checksum: "c",
  executionTimeMs: 12,
  upSql,
  transactional: true,
};
const upsertFailedValues = {
  migrationName: name,
  actor,
  checksum: "c",
  executionTimeMs: null,
  errorMessage: 'relation "x" doesn\'t exist',
  upSql,
  transactional: false,
};
const eventValues = {
  migrationName: name,
  action: "apply",
  outcome: "failed",
  actor,
  executionTimeMs: 3,
  errorMessage: "it's \\ broken",
  checksum: null,
  resolution: "rolled_back",
} as const;

const interruptedEventValues = {
  migrationName: name,
  action: "rollback",
  startedBefore: "rollback started by ",
  startedAfter: " and not finished: it's $1",
  interruptedPrefix: "interrupted: ",
  template: "interrupted: started by %s at %s (detected by %s at %s) 100%% \\ $2",
  detectedBy: actor,
} as const;

/** The same calls, to the generated queries. */
const generated: Record<QueryName, () => { sql: string; parameters: readonly unknown[] }> = {
  lockUnit: () => trackingSql.lockUnit(),
  selectRecords: () => trackingSql.selectRecords(),
  selectStatus: () => trackingSql.selectStatus({ migrationName: name }),
  selectState: () => trackingSql.selectState({ migrationName: name }),
  selectRecordedSql: () => trackingSql.selectRecordedSql({ migrationName: name }),
  selectUnfinishedBy: () => trackingSql.selectUnfinishedBy({ migrationName: name }),
  selectAttemptRevoked: () =>
    trackingSql.selectAttemptRevoked({
      migrationName: name,
      action: "rollback",
      marker: "[attempt 1f]",
    }),
  upsertApplied: () => trackingSql.upsertApplied(upsertAppliedValues),
  upsertFailed: () => trackingSql.upsertFailed(upsertFailedValues),
  markRolledBack: () => trackingSql.markRolledBack({ migrationName: name, actor }),
  markRollbackAttempt: () =>
    trackingSql.markRollbackAttempt({
      migrationName: name,
      errorMessage: actor,
      executionTimeMs: 7,
    }),
  setChecksum: () => trackingSql.setChecksum({ migrationName: name, checksum: "abc" }),
  insertInterruptedEvent: () => trackingSql.insertInterruptedEvent(interruptedEventValues),
  insertEvent: () => trackingSql.insertEvent(eventValues),
  insertEventAnsweringTime: () => trackingSql.insertEventAnsweringTime(eventValues),
};

describe("generated tracking queries", () => {
  it(`${GENERATED_FILE} is what the generator writes from tracking-queries.ts today`, () => {
    const committed = readFileSync(new URL(`../${GENERATED_FILE}`, import.meta.url), "utf8");
    const current = generateTrackingSql();
    if (committed !== current) {
      expect.fail(
        `${GENERATED_FILE} is not current: the Kysely definitions in tracking-queries.ts changed since it was generated. Run \`${GENERATE_COMMAND}\` and commit the result.`,
      );
    }
  });

  it.each(Object.keys(kysely) as QueryName[])(
    "%s, inlined, is exactly what Kysely compiles with the values inlined",
    (query) => {
      expect(inline(generated[query]())).toBe(kysely[query]().sql);
    },
  );

  it("inlines SQL computed inside a batch as Kysely does", () => {
    const elapsed = raw("(extract(epoch from clock_timestamp()) * 1000)::int");
    const values = {
      ...upsertAppliedValues,
      executionTimeMs: elapsed,
      upSql: raw("substr(current_query(), 10, 20)"),
    };
    expect(inline(trackingSql.upsertApplied(values))).toBe(inlineQueries.upsertApplied(values).sql);
    const event = { ...eventValues, outcome: "succeeded", executionTimeMs: elapsed } as const;
    expect(inline(trackingSql.insertEvent(event))).toBe(inlineQueries.insertEvent(event).sql);
  });

  it("covers every fixed-shape query of tracking-queries.ts", () => {
    expect(Object.keys(trackingSql).sort()).toEqual(Object.keys(inlineQueries).sort());
  });
});
