import { directorySource, formatFileProblem } from "@studio/migrations-core";
import type {
  FingerprintDifference,
  MigrationVerification,
  VerifyReport,
  VerifyResult,
} from "@studio/migrations-verify";
import type { Invocation } from "./args.ts";
import { displayPath, type Outcome } from "./commands.ts";
import { CommandFailure, type FailureInfo } from "./failures.ts";
import {
  type Column,
  formatDuration,
  type Io,
  type Printer,
  plural,
  renderTable,
  wrap,
} from "./output.ts";
import { requireMigrationsDir, resolveMigrationsDir } from "./target.ts";

type VerifyInvocation = Extract<Invocation, { command: "verify" }>;

const RESULT_WORDS: Record<VerifyResult, string> = {
  inverse: "inverse",
  irreversible: "irreversible",
  not_inverse: "NOT INVERSE",
  second_up_differs: "SECOND UP DIFFERS",
  failed: "FAILED",
};

const COLUMNS: Column[] = [
  { header: "MIGRATION" },
  { header: "RESULT" },
  { header: "TIME", align: "right", secondary: true },
  { header: "DIFFERENCES", elastic: true },
];

/**
 * `studio-migrate verify` (SPEC §9 *Verify*): every migration of the directory up, down and up
 * again on a scratch database — an in-memory PGlite unless `--scratch-url` names an empty
 * throwaway database — then a table of what each down section restored. Needs no target: it
 * never reads `DATABASE_URL`, so it cannot touch the platform database by accident.
 */
export async function runVerify(
  invocation: VerifyInvocation,
  p: Printer,
  io: Io,
): Promise<Outcome> {
  const directory = resolveMigrationsDir(invocation.migrationsDir, io);
  requireMigrationsDir(directory);
  const shownDirectory = displayPath(directory, io.cwd);
  const { migrations, problems } = await directorySource(directory).load();
  for (const problem of problems.filter((problem) => problem.severity === "warning")) {
    // Says "warning:" itself, after the file and line.
    for (const line of wrap(formatFileProblem(problem), p.width, "  ")) {
      p.error(line);
    }
  }
  const errors = problems.filter((problem) => problem.severity === "error");
  if (errors.length > 0) {
    throw new CommandFailure({
      code: "INVALID_MIGRATION_FILES",
      message: `${plural(errors.length, "migration file")} in ${shownDirectory} cannot be loaded, so the migrations cannot be verified in order.`,
      hint: "Fix the files named above, then run verify again.",
      details: errors.map(formatFileProblem),
    });
  }

  const { scratchLabel, VerifyError, verifyMigrations } = await import("@studio/migrations-verify");
  const scratch = invocation.scratchUrl === null ? undefined : { url: invocation.scratchUrl };
  let report: VerifyReport;
  try {
    p.paragraph(
      `Verifying ${plural(migrations.length, "migration")} from ${shownDirectory} on ${scratchLabel(scratch)}: each one up, down and up again, comparing the schema.`,
    );
    report = await verifyMigrations({ migrations, scratch });
  } catch (error) {
    if (!(error instanceof VerifyError)) throw error;
    throw new CommandFailure({ code: error.code, message: error.message, hint: error.hint });
  }

  p.line();
  if (report.results.length === 0) {
    p.paragraph(`No migrations in ${shownDirectory}: nothing to verify.`);
  } else {
    p.lines(
      renderTable(COLUMNS, report.results.map(row), p.width, (r, c, text) => {
        if (c !== 1) return text;
        const result = report.results[r]?.result;
        if (result === "inverse") return p.out.green(text);
        if (result === "irreversible") return p.out.yellow(text);
        return p.out.red(text);
      }),
    );
  }
  printDifferences(report, p);
  if (report.notVerified.length > 0) {
    p.paragraph(`Not verified (they come after the failure): ${report.notVerified.join(", ")}.`);
  }
  p.line();
  p.paragraph(summary(report));
  return { exitCode: report.ok ? 0 : 1, result: report, failure: failureOf(report) };
}

function row(result: MigrationVerification): string[] {
  const differences = [...result.downDifferences, ...result.secondUpDifferences];
  const first = differences[0];
  const note =
    result.failure !== null
      ? `${result.failure.section} failed: ${result.failure.message}`
      : result.result === "irreversible"
        ? "no down section"
        : first === undefined
          ? ""
          : `${first.message}${differences.length > 1 ? ` (+${differences.length - 1} more)` : ""}`;
  return [
    result.migrationName,
    RESULT_WORDS[result.result],
    formatDuration(result.executionTimeMs),
    note,
  ];
}

/** Every difference in full, under the table (the table's column may cut them short). */
function printDifferences(report: VerifyReport, p: Printer): void {
  const list = (heading: string, differences: readonly FingerprintDifference[]) => {
    if (differences.length === 0) return;
    p.line();
    p.paragraph(heading);
    for (const difference of differences) {
      p.lines(wrap(`- ${difference.message}`, p.width - 2, "    ").map((line) => `  ${line}`));
    }
  };
  for (const result of report.results) {
    list(
      `${result.migrationName}: after its down section, the schema differs from the one before its up (before → after):`,
      result.downDifferences,
    );
    list(
      `${result.migrationName}: its up, run again after the down, made another schema than the first time (first → second):`,
      result.secondUpDifferences,
    );
  }
}

function summary(report: VerifyReport): string {
  const count = (result: VerifyResult) => report.results.filter((r) => r.result === result).length;
  const parts = [
    `${count("inverse")} inverse`,
    count("irreversible") > 0
      ? `${count("irreversible")} irreversible (no down section: a warning)`
      : null,
    count("not_inverse") > 0 ? `${count("not_inverse")} not inverse` : null,
    count("second_up_differs") > 0
      ? `${count("second_up_differs")} with a second up that differs`
      : null,
    count("failed") > 0 ? `${count("failed")} failed` : null,
  ].filter((part) => part !== null);
  return `${parts.join(", ")}. Scratch database: ${report.scratch}.`;
}

/** Why the run fails: a section that failed, else the downs that are not exact inverses. */
function failureOf(report: VerifyReport): FailureInfo | null {
  if (report.ok) return null;
  const failed = report.results.find((r) => r.failure !== null);
  if (failed?.failure) {
    const { failure } = failed;
    const where = failure.line === null ? "" : ` (line ${failure.line} of that section)`;
    return {
      code: "MIGRATION_FAILED",
      message: `The ${failure.section} section of ${failed.migrationName} failed${where}: ${failure.message}`,
      hint: `Fix the ${failure.section === "down" ? "down" : "up"} section; the migrations after it were not verified.`,
      migrationName: failed.migrationName,
      failure: {
        message: failure.message,
        code: failure.code,
        detail: failure.detail,
        hint: failure.hint,
        position: failure.position,
      },
      details: [
        ...(failure.code ? [`postgres: SQLSTATE ${failure.code}`] : []),
        ...(failure.detail ? [`detail: ${failure.detail}`] : []),
        ...(failure.hint ? [`postgres hint: ${failure.hint}`] : []),
      ],
    };
  }
  const wrong = report.results.filter(
    (r) => r.result === "not_inverse" || r.result === "second_up_differs",
  );
  const notInverse = wrong.filter((r) => r.result === "not_inverse").length;
  return {
    code: "NOT_INVERSE",
    message: `${
      notInverse > 0
        ? `${plural(notInverse, "down section")} ${notInverse === 1 ? "does" : "do"} not restore the schema ${notInverse === 1 ? "its" : "their"} up found`
        : "The down sections restore the schema"
    }${
      wrong.length > notInverse
        ? `${notInverse > 0 ? ", and" : ", but"} ${plural(wrong.length - notInverse, "up")} ${wrong.length - notInverse === 1 ? "makes" : "make"} another schema when run again`
        : ""
    }: ${wrong.map((r) => r.migrationName).join(", ")}.`,
    hint: "Each difference is listed above: make the down section undo exactly what the up does (and the up depend on nothing its down leaves behind).",
    migrationName: null,
    failure: null,
    details: [],
  };
}
