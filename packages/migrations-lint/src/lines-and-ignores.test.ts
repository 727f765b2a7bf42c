import { beforeAll, describe, expect, it } from "vitest";
import { type Linter, loadLinter } from "./index.ts";
import { migrations, up } from "./test-support.ts";

let linter: Linter;
beforeAll(async () => {
  linter = await loadLinter();
});

const lines = (report: ReturnType<Linter["lint"]>) => report.findings.map((f) => [f.rule, f.line]);

describe("lines", () => {
  it("are the file's lines where each statement starts, after comments and multi-byte text", () => {
    const loaded = migrations(
      [
        "-- Ünïcödé in a comment before the marker: 🚀 (four UTF-8 bytes, two UTF-16 units)",
        "-- migrate:up",
        "-- 🚀🚀 héllo — the parser counts bytes, the file counts lines",
        "comment on table platform.users is 'naïve 🚀 text';",
        "",
        "/* a block /* nested */ comment */ create index",
        "  users_email_idx",
        "  on platform.users (email);",
        "select 'ä'; drop table platform.legacy;",
        "",
        "-- migrate:down",
        "drop index platform.users_email_idx;",
      ].join("\n"),
    );
    expect(loaded[0]?.upLine).toBe(3);
    const report = linter.lint(loaded);
    expect(report.findings.map((f) => [f.rule, f.line, f.statement])).toEqual([
      ["index-not-concurrent", 6, "create index users_email_idx on platform.users (email)"],
      ["drop-table", 9, "drop table platform.legacy"],
    ]);
  });

  it("are the same in a file with CRLF line endings", () => {
    const report = linter.lint(
      migrations(
        "-- migrate:up\r\n-- é\r\ncreate index i on platform.users (email);\r\n\r\ndrop table platform.legacy;\r\n-- migrate:down\r\nselect 1;\r\n",
      ),
    );
    expect(lines(report)).toEqual([
      ["index-not-concurrent", 3],
      ["drop-table", 5],
    ]);
  });

  it("start at 1 in a file without markers", () => {
    expect(lines(linter.lint(migrations("\n\ndrop table platform.legacy;\n")))).toEqual([
      ["drop-table", 3],
    ]);
  });

  it("inside a DO block, are each inner statement's own line in the file", () => {
    const report = linter.lint(
      up(
        [
          "select 1;",
          "do $body$",
          "declare",
          "  n int := 0;",
          "begin",
          "  perform set_config('lock_timeout', '1s', true);",
          "  if n = 0 then",
          "    alter table platform.users",
          "      drop column legacy;",
          "  end if;",
          "  execute 'select 1';",
          "end",
          "$body$;",
        ].join("\n"),
      ),
    );
    expect(report.findings.map((f) => [f.rule, f.line, f.inDoBlock])).toEqual([
      ["drop-column", 9, true],
      ["dynamic-sql", 12, true],
    ]);
  });

  it("only the up section is linted: the down section's drops are not findings", () => {
    const report = linter.lint(
      migrations(
        "-- migrate:up\ncreate table platform.t (a int);\n-- migrate:down\ndrop table platform.users;\n",
      ),
    );
    expect(report.findings).toEqual([]);
  });
});

describe("-- lint:ignore", () => {
  it("accepts the named rule for the statement below it, reported apart with its reason", () => {
    const report = linter.lint(
      up(
        "-- lint:ignore index-not-concurrent -- platform.flags has a dozen rows\ncreate index flags_name_idx on platform.flags (name);",
      ),
    );
    expect(report.findings).toEqual([]);
    expect(report.errors).toBe(0);
    expect(report.ignored).toMatchObject([
      {
        directiveLine: 2,
        reason: "platform.flags has a dozen rows",
        finding: { rule: "index-not-concurrent", line: 3, relation: "platform.flags" },
      },
    ]);
  });

  it("accepts several rules, and only those", () => {
    const sql = (rules: string) =>
      `-- lint:ignore ${rules}\nalter table platform.users drop column a, alter column b type bigint, add constraint c check (b > 0);`;
    expect(
      linter.lint(up(sql("drop-column, alter-column-type"))).findings.map((f) => f.rule),
    ).toEqual(["check-not-valid"]);
    const all = linter.lint(
      up(sql("drop-column,alter-column-type,check-not-valid planned downtime")),
    );
    expect(all.findings).toEqual([]);
    expect(all.ignored.map((i) => [i.finding.rule, i.reason])).toEqual([
      ["drop-column", "planned downtime"],
      ["alter-column-type", "planned downtime"],
      ["check-not-valid", "planned downtime"],
    ]);
  });

  it("counts anywhere in the comment block directly above, not across a blank line or past the next statement", () => {
    const accepted = linter.lint(
      up(
        "-- lint:ignore drop-table retired in 2024\n-- (see the runbook)\ndrop table platform.legacy;",
      ),
    );
    expect(accepted.ignored.map((i) => i.reason)).toEqual(["retired in 2024"]);
    expect(accepted.findings).toEqual([]);

    const blank = linter.lint(up("-- lint:ignore drop-table\n\ndrop table platform.legacy;"));
    expect(blank.findings.map((f) => f.rule)).toEqual(["drop-table"]);

    const next = linter.lint(
      up("-- lint:ignore drop-table\ndrop table platform.legacy;\ndrop table platform.older;"),
    );
    expect(lines(next)).toEqual([["drop-table", 4]]);
    expect(next.ignored).toHaveLength(1);
  });

  it("above a DO block covers the statements inside it; inside, the one below it", () => {
    const block = (outer: string, inner: string) =>
      `${outer}do $$\nbegin\n  ${inner}\n  alter table platform.users drop column a;\n  drop table platform.legacy;\nend $$;`;
    expect(linter.lint(up(block("-- lint:ignore drop-column,drop-table\n", ""))).findings).toEqual(
      [],
    );
    expect(
      linter
        .lint(up(block("", "-- lint:ignore drop-column the column was never used")))
        .findings.map((f) => f.rule),
    ).toEqual(["drop-table"]);
  });

  it("naming no rule, or a rule that does not exist, is itself a finding and accepts nothing", () => {
    const report = linter.lint(
      up("-- lint:ignore\n-- lint:ignore drop-tables,drop-table\ndrop table platform.legacy;"),
    );
    expect(report.findings.map((f) => [f.rule, f.line, f.level])).toEqual([
      ["lint-ignore-unknown-rule", 2, "warning"],
      ["lint-ignore-unknown-rule", 3, "warning"],
    ]);
    expect(report.findings[1]?.message).toContain('"drop-tables", which is no rule');
    // The known rule beside the misspelt one still applies.
    expect(report.ignored.map((i) => i.finding.rule)).toEqual(["drop-table"]);
  });
});

describe("the report", () => {
  it("counts errors, warnings and infos, not counting what was ignored", () => {
    const report = linter.lint(
      up(`create index i on platform.users (email);
drop table platform.legacy;
-- lint:ignore truncate emptied every night anyway
truncate platform.sessions;
do $$ begin execute 'select 1'; end $$;`),
    );
    expect([report.errors, report.warnings, report.infos]).toEqual([1, 1, 1]);
    expect(report.ignored).toHaveLength(1);
    expect(report.migrations).toEqual(["001_test"]);
    expect(report.live).toBe(false);
  });
});
