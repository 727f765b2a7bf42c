import { parseArgs } from "node:util";
import type { Resolution } from "@studio/migrations-core";
// The core's input rules, and nothing else of it: argv parsing must not load the engine.
import {
  FOREIGN_TABLE_NAME,
  FOREIGN_TABLE_RULE,
  FOREIGN_TOOLS,
  type ForeignTool,
  isValidHistoryCursor,
  isValidHistoryLimit,
  isValidLockTimeoutMs,
  isValidMigrationName,
  isValidStatementTimeoutMs,
  MAX_HISTORY_CURSOR,
  MAX_HISTORY_LIMIT,
  MAX_LOCK_TIMEOUT_MS,
  MAX_STATEMENT_TIMEOUT_MS,
  MIGRATION_NAME_RULE,
} from "@studio/migrations-core/rules";
import { UsageError } from "./failures.ts";
import { closest } from "./suggest.ts";
import type { RunTimeouts } from "./target.ts";

export const COMMAND_NAMES = [
  "status",
  "apply",
  "rollback",
  "baseline",
  "resolve",
  "history",
  "new",
  "adopt",
  "verify",
  "lint",
  "rehearse",
  "help",
] as const;

export type CommandName = (typeof COMMAND_NAMES)[number];

/** Every flag the tool knows; which command accepts which is `ACCEPTS` below. */
const OPTIONS = {
  url: { type: "string" },
  secret: { type: "string" },
  actor: { type: "string" },
  "database-url": { type: "string" },
  "migrations-dir": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
  to: { type: "string" },
  steps: { type: "string" },
  from: { type: "string" },
  table: { type: "string" },
  "dry-run": { type: "boolean" },
  "allow-out-of-order": { type: "boolean" },
  "mark-only": { type: "boolean" },
  applied: { type: "boolean" },
  "rolled-back": { type: "boolean" },
  "accept-checksum": { type: "boolean" },
  limit: { type: "string" },
  cursor: { type: "string" },
  migration: { type: "string" },
  timeout: { type: "string" },
  "lock-timeout": { type: "string" },
  "statement-timeout": { type: "string" },
  "scratch-url": { type: "string" },
  strict: { type: "boolean" },
} as const;

type OptionName = keyof typeof OPTIONS;

const TARGET_OPTIONS = [
  "url",
  "secret",
  "actor",
  "database-url",
  "migrations-dir",
  "timeout",
] as const;
/** This run's limits for the migrations' SQL (`apply`, `rollback`). */
const RUN_OPTIONS = ["lock-timeout", "statement-timeout"] as const;
const GLOBAL_OPTIONS = ["json", "help", "version"] as const;

const ACCEPTS: Record<CommandName, readonly OptionName[]> = {
  status: TARGET_OPTIONS,
  apply: [...TARGET_OPTIONS, ...RUN_OPTIONS, "to", "dry-run", "allow-out-of-order", "strict"],
  rollback: [...TARGET_OPTIONS, ...RUN_OPTIONS, "to", "steps", "mark-only", "dry-run"],
  baseline: [...TARGET_OPTIONS, "to"],
  resolve: [...TARGET_OPTIONS, "applied", "rolled-back", "accept-checksum"],
  history: [...TARGET_OPTIONS, "limit", "cursor", "migration"],
  new: ["migrations-dir"],
  adopt: [...TARGET_OPTIONS, "from", "table"],
  verify: ["migrations-dir", "scratch-url"],
  lint: [...TARGET_OPTIONS, "lock-timeout"],
  rehearse: [...TARGET_OPTIONS, ...RUN_OPTIONS, "to", "allow-out-of-order"],
  help: [],
};

/** One line per command (at most 76 columns), shown with usage errors and in the help. */
export const USAGE: Record<CommandName, string> = {
  status: "studio-migrate status [target options]",
  apply: "studio-migrate apply [name] [--to name] [--dry-run] [--allow-out-of-order]",
  rollback: "studio-migrate rollback <name> | --to <name> | --steps n [--mark-only]",
  baseline: "studio-migrate baseline --to <name> [target options]",
  resolve: "studio-migrate resolve <name> --applied | --rolled-back | --accept-checksum",
  history: "studio-migrate history [--limit n] [--migration name] [--cursor c]",
  new: "studio-migrate new <name> [--migrations-dir dir]",
  adopt: "studio-migrate adopt --from dbmate|supabase [--table t] [target options]",
  verify: "studio-migrate verify [--migrations-dir dir] [--scratch-url url]",
  lint: "studio-migrate lint [name…] [target options]",
  rehearse: "studio-migrate rehearse [--to name] [target options]",
  help: "studio-migrate help [command]",
};

/** Where a command runs: flags only; the environment is consulted later, in `target.ts`. */
export interface TargetFlags {
  url: string | null;
  secret: string | null;
  actor: string | null;
  databaseUrl: string | null;
  migrationsDir: string | null;
  /** `--timeout`, in ms (given in seconds). */
  timeoutMs: number | null;
}

export type Invocation =
  | { command: "help"; json: boolean; topic: CommandName | null }
  | { command: "version"; json: boolean }
  | { command: "status"; json: boolean; target: TargetFlags }
  | {
      command: "apply";
      json: boolean;
      target: TargetFlags;
      migrationName: string | null;
      upTo: string | null;
      dryRun: boolean;
      allowOutOfOrder: boolean;
      /** `--strict`: refuse before anything runs when the lint finds an error (SPEC §9). */
      strict: boolean;
      timeouts: RunTimeouts;
    }
  | {
      command: "lint";
      json: boolean;
      target: TargetFlags;
      /** The migrations to lint; empty: the pending ones. */
      migrationNames: string[];
      /** `--lock-timeout`: the limit an apply would be given, which waits are worded for. */
      lockTimeoutMs: number | null;
    }
  | {
      command: "rehearse";
      json: boolean;
      target: TargetFlags;
      upTo: string | null;
      allowOutOfOrder: boolean;
      timeouts: RunTimeouts;
    }
  | {
      command: "rollback";
      json: boolean;
      target: TargetFlags;
      /** Exactly one of these three: that migration, all applied after `to`, the newest `steps`. */
      migrationName: string | null;
      to: string | null;
      steps: number | null;
      markOnly: boolean;
      dryRun: boolean;
      timeouts: RunTimeouts;
    }
  | {
      command: "adopt";
      json: boolean;
      target: TargetFlags;
      from: ForeignTool;
      table: string | null;
    }
  | { command: "baseline"; json: boolean; target: TargetFlags; upTo: string }
  | {
      command: "resolve";
      json: boolean;
      target: TargetFlags;
      migrationName: string;
      as: Resolution;
    }
  | {
      command: "history";
      json: boolean;
      target: TargetFlags;
      limit: number | null;
      cursor: string | null;
      migrationName: string | null;
    }
  | { command: "new"; json: boolean; name: string; migrationsDir: string | null }
  | { command: "verify"; json: boolean; migrationsDir: string | null; scratchUrl: string | null };

/** Commands that talk to a database or a Studio. */
export type TargetInvocation = Extract<Invocation, { target: TargetFlags }>;

/**
 * Whether `--json` was asked for, read loosely so that even an invocation that does not parse
 * can answer with a JSON document.
 */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).includes("--json");
}

/** The command named in argv, if it names one, for usage hints on an argv that does not parse. */
export function commandOf(argv: readonly string[]): CommandName | null {
  try {
    const { positionals } = parseArgs({
      args: [...argv],
      options: OPTIONS,
      strict: false,
      allowPositionals: true,
    });
    return asCommand(positionals[0]);
  } catch {
    return null;
  }
}

function asCommand(word: string | undefined): CommandName | null {
  return COMMAND_NAMES.find((name) => name === word) ?? null;
}

/** Parses argv into one invocation, or throws a `UsageError` saying what is wrong with it. */
export function parseInvocation(argv: readonly string[]): Invocation {
  const loose = commandOf(argv);
  let parsed: ReturnType<typeof parseStrict>;
  try {
    parsed = parseStrict(argv);
  } catch (error) {
    throw new UsageError(describeParseError(error), loose);
  }
  const { values, positionals, given } = parsed;
  const json = values.json === true;
  const [word, ...rest] = positionals;

  // Asking for help or the version wins over everything else on the line.
  if (values.help) {
    const command = asCommand(word);
    if (word !== undefined && command === null) throw new UsageError(unknownCommand(word));
    return { command: "help", json, topic: command === "help" ? null : command };
  }
  if (values.version) return { command: "version", json };
  if (word === undefined) {
    throw new UsageError("No command given.");
  }
  const command = asCommand(word);
  if (command === null) throw new UsageError(unknownCommand(word));

  for (const option of given) {
    if (
      !(GLOBAL_OPTIONS as readonly string[]).includes(option) &&
      !ACCEPTS[command].includes(option)
    ) {
      throw new UsageError(`${command} does not take --${option}.`, command);
    }
  }
  const target: TargetFlags = {
    url: values.url ?? null,
    secret: values.secret ?? null,
    actor: values.actor ?? null,
    databaseUrl: values["database-url"] ?? null,
    migrationsDir: values["migrations-dir"] ?? null,
    timeoutMs: values.timeout === undefined ? null : timeoutArg(values.timeout, command),
  };
  const timeouts: RunTimeouts = {
    lockTimeoutMs:
      values["lock-timeout"] === undefined
        ? null
        : msArg(values["lock-timeout"], "--lock-timeout", command),
    statementTimeoutMs:
      values["statement-timeout"] === undefined
        ? null
        : msArg(values["statement-timeout"], "--statement-timeout", command),
  };
  const at = (count: number) => {
    if (rest.length > count) {
      throw new UsageError(`Unexpected argument "${rest[count]}".`, command);
    }
  };
  const required = (what: string): string => {
    const value = rest[0];
    if (value === undefined) throw new UsageError(`${command} needs ${what}.`, command);
    return value;
  };

  switch (command) {
    case "help": {
      at(1);
      const topicWord = rest[0];
      const topic = asCommand(topicWord);
      if (topicWord !== undefined && topic === null) {
        throw new UsageError(unknownCommand(topicWord), "help");
      }
      return { command: "help", json, topic: topic === "help" ? null : topic };
    }
    case "status":
      at(0);
      return { command, json, target };
    case "apply": {
      at(1);
      const migrationName = rest[0] === undefined ? null : migrationNameArg(rest[0], command);
      const upTo = values.to === undefined ? null : migrationNameArg(values.to, command, "--to");
      if (migrationName !== null && upTo !== null) {
        throw new UsageError(
          `Give a name (exactly that migration) or --to (everything up to it), not both.`,
          command,
        );
      }
      return {
        command,
        json,
        target,
        migrationName,
        upTo,
        dryRun: values["dry-run"] === true,
        allowOutOfOrder: values["allow-out-of-order"] === true,
        strict: values.strict === true,
        timeouts,
      };
    }
    case "lint":
      return {
        command,
        json,
        target,
        // Each once, in the order given (the lint takes them in version order).
        migrationNames: [...new Set(rest.map((name) => migrationNameArg(name, command)))],
        lockTimeoutMs: timeouts.lockTimeoutMs,
      };
    case "rehearse":
      at(0);
      return {
        command,
        json,
        target,
        upTo: values.to === undefined ? null : migrationNameArg(values.to, command, "--to"),
        allowOutOfOrder: values["allow-out-of-order"] === true,
        timeouts,
      };
    case "rollback": {
      at(1);
      const migrationName = rest[0] === undefined ? null : migrationNameArg(rest[0], command);
      const to = values.to === undefined ? null : migrationNameArg(values.to, command, "--to");
      const steps = values.steps === undefined ? null : stepsArg(values.steps);
      const given = [migrationName, to, steps].filter((value) => value !== null).length;
      if (given === 0) {
        throw new UsageError(
          "rollback needs the name of the migration to roll back, or --to <name> (everything applied after it), or --steps n (the newest n).",
          command,
        );
      }
      if (given > 1) {
        throw new UsageError(
          "Give one of a name (exactly that migration), --to <name> (everything applied after it) or --steps n (the newest n), not several.",
          command,
        );
      }
      return {
        command,
        json,
        target,
        migrationName,
        to,
        steps,
        markOnly: values["mark-only"] === true,
        dryRun: values["dry-run"] === true,
        timeouts,
      };
    }
    case "adopt": {
      at(0);
      if (values.from === undefined) {
        throw new UsageError(
          "adopt needs --from dbmate or --from supabase: the tool whose history to adopt.",
          command,
        );
      }
      const from = FOREIGN_TOOLS.find((tool) => tool === values.from);
      if (from === undefined) {
        throw new UsageError(
          `--from must be ${FOREIGN_TOOLS.join(" or ")} (got "${values.from}").`,
          command,
        );
      }
      if (values.table !== undefined && !FOREIGN_TABLE_NAME.test(values.table)) {
        throw new UsageError(
          `--table "${values.table}" is not a table name: ${FOREIGN_TABLE_RULE}.`,
          command,
        );
      }
      return { command, json, target, from, table: values.table ?? null };
    }
    case "baseline":
      if (rest[0] !== undefined) {
        throw new UsageError(
          `baseline takes its target as --to <name>, not as an argument ("${rest[0]}").`,
          command,
        );
      }
      if (values.to === undefined) {
        throw new UsageError("baseline needs --to <name>: the last migration to record.", command);
      }
      return { command, json, target, upTo: migrationNameArg(values.to, command, "--to") };
    case "resolve": {
      at(1);
      const migrationName = migrationNameArg(
        required("the name of the migration to resolve"),
        command,
      );
      const chosen = (
        [
          ["applied", "applied"],
          ["rolled-back", "rolled_back"],
          ["accept-checksum", "accept_checksum"],
        ] as const
      ).filter(([flag]) => values[flag] === true);
      const only = chosen[0];
      if (only === undefined || chosen.length > 1) {
        throw new UsageError(
          `resolve needs exactly one of --applied, --rolled-back or --accept-checksum${
            chosen.length > 1 ? ` (got ${chosen.map(([flag]) => `--${flag}`).join(" and ")})` : ""
          }.`,
          command,
        );
      }
      return { command, json, target, migrationName, as: only[1] };
    }
    case "history": {
      at(0);
      return {
        command,
        json,
        target,
        limit: values.limit === undefined ? null : limitArg(values.limit),
        cursor: values.cursor === undefined ? null : cursorArg(values.cursor),
        migrationName:
          values.migration === undefined
            ? null
            : migrationNameArg(values.migration, command, "--migration"),
      };
    }
    case "verify":
      at(0);
      return {
        command,
        json,
        migrationsDir: values["migrations-dir"] ?? null,
        scratchUrl: values["scratch-url"] ?? null,
      };
    case "new":
      at(1);
      return {
        command,
        json,
        name: required("a name for the migration, e.g. add_billing_plans"),
        migrationsDir: values["migrations-dir"] ?? null,
      };
  }
}

function parseStrict(argv: readonly string[]) {
  const { values, positionals, tokens } = parseArgs({
    args: [...argv],
    options: OPTIONS,
    strict: true,
    allowPositionals: true,
    tokens: true,
  });
  const given = new Set<OptionName>();
  for (const token of tokens) {
    if (token.kind === "option") given.add(token.name as OptionName);
  }
  return { values, positionals, given };
}

/** `util.parseArgs` messages are written for programmers; say the same thing shorter. */
function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  const flag = /'(-[^' ]*)/.exec(message)?.[1];
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && flag) {
    const known = Object.keys(OPTIONS).map((name) => `--${name}`);
    const likely = closest(flag.split("=", 1)[0] as string, known);
    return `Unknown option "${flag}".${likely === null ? "" : ` Did you mean ${likely}?`}`;
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && flag) {
    return /argument missing|ambiguous/.test(message)
      ? `${flag} needs a value.`
      : `${flag} does not take a value.`;
  }
  return message;
}

function migrationNameArg(value: string, command: CommandName, flag?: string): string {
  if (!isValidMigrationName(value)) {
    throw new UsageError(
      `${flag ? `${flag} ` : ""}"${value}" is not a migration name (the file name without .sql: ${MIGRATION_NAME_RULE}).`,
      command,
    );
  }
  return value;
}

function stepsArg(value: string): number {
  const steps = /^[0-9]{1,6}$/.test(value) ? Number(value) : Number.NaN;
  if (!(steps >= 1)) {
    throw new UsageError(
      `--steps must be a whole number of at least 1 (got "${value}").`,
      "rollback",
    );
  }
  return steps;
}

function limitArg(value: string): number {
  const limit = /^[0-9]{1,9}$/.test(value) ? Number(value) : Number.NaN;
  if (!isValidHistoryLimit(limit)) {
    throw new UsageError(
      `--limit must be a whole number from 1 to ${MAX_HISTORY_LIMIT} (got "${value}").`,
      "history",
    );
  }
  return limit;
}

function cursorArg(value: string): string {
  if (!isValidHistoryCursor(value)) {
    throw new UsageError(
      `--cursor must be the next cursor a previous page printed: a whole number from 1 to ${MAX_HISTORY_CURSOR} (got "${value}").`,
      "history",
    );
  }
  return value;
}

/** The longest `--timeout`: a day. */
const MAX_TIMEOUT_SECONDS = 86_400;

/** `--timeout <seconds>`: a positive number of seconds (decimals allowed), as ms. */
function timeoutArg(value: string, command: CommandName): number {
  const seconds = /^[0-9]{1,6}(\.[0-9]{1,3})?$/.test(value) ? Number(value) : Number.NaN;
  if (!(seconds > 0 && seconds <= MAX_TIMEOUT_SECONDS)) {
    throw new UsageError(
      `--timeout must be a number of seconds above 0 and at most ${MAX_TIMEOUT_SECONDS}, e.g. 15 or 2.5 (got "${value}").`,
      command,
    );
  }
  return Math.round(seconds * 1000);
}

/** `--lock-timeout <ms>` / `--statement-timeout <ms>`: whole milliseconds within the core's bounds. */
function msArg(
  value: string,
  flag: "--lock-timeout" | "--statement-timeout",
  command: CommandName,
): number {
  const ms = /^[0-9]{1,9}$/.test(value) ? Number(value) : Number.NaN;
  const [valid, max] =
    flag === "--lock-timeout"
      ? [isValidLockTimeoutMs, MAX_LOCK_TIMEOUT_MS]
      : [isValidStatementTimeoutMs, MAX_STATEMENT_TIMEOUT_MS];
  if (!valid(ms)) {
    throw new UsageError(
      `${flag} must be a whole number of milliseconds from 1 to ${max} (got "${value}").`,
      command,
    );
  }
  return ms;
}

/** `Unknown command "aply". Did you mean apply?` */
function unknownCommand(word: string): string {
  const likely = closest(word, COMMAND_NAMES);
  return `Unknown command "${word}".${likely === null ? "" : ` Did you mean ${likely}?`}`;
}
