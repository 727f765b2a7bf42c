import { statSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import { resolve } from "node:path";
import type {
  AdoptReport,
  ApplyReport,
  ApplyStepStatus,
  BaselineReport,
  HistoryPage,
  LintReport,
  RehearseReport,
  Resolution,
  ResolveReport,
  RollbackReport,
  RollbackRunReport,
  RollbackStepStatus,
  StatusReport,
} from "@studio/migrations-core";
import { ACTOR_RULE, isValidActor, MAX_ACTOR_LENGTH } from "@studio/migrations-core/rules";
import type { TargetFlags } from "./args.ts";
import { CommandFailure, UsageError } from "./failures.ts";
import { pasteTarget } from "./hints.ts";
import type { Io } from "./output.ts";

/** Where the commands run: the database itself, or a Studio through its API. */
export type TargetConfig =
  | {
      mode: "direct";
      databaseUrl: string;
      /** The database URL without password or query string, safe to print. */
      label: string;
      migrationsDir: string;
      actor: string;
      /** The flags a suggested command carries to reach the same target (see `pasteTarget`). */
      paste: string;
    }
  | {
      mode: "url";
      url: string;
      /** The Studio URL without credentials or query string, safe to print. */
      label: string;
      secret: string;
      actor: string;
      /** The flags a suggested command carries to reach the same target (see `pasteTarget`). */
      paste: string;
      /** `--timeout`: how long Studio may stay silent (no answer, no progress) before failing. */
      timeoutMs: number;
    };

/** `--timeout`'s default: 15 s (SPEC §8). */
export const DEFAULT_TIMEOUT_MS = 15_000;

/**
 * `--lock-timeout` / `--statement-timeout`: this run's limits for the migrations' SQL, in place
 * of the engine's (null: the engine's own).
 */
export interface RunTimeouts {
  lockTimeoutMs: number | null;
  statementTimeoutMs: number | null;
}

export interface ApplyRequest {
  migrationName: string | null;
  upTo: string | null;
  dryRun: boolean;
  allowOutOfOrder: boolean;
  /** Refuse before anything runs when the lint finds an error (`LINT_REFUSED`). */
  strict: boolean;
  timeouts: RunTimeouts;
}

/** `lint` (SPEC §9): the pending migrations (no names), or the named ones. */
export interface LintRequest {
  migrationNames: readonly string[];
  /** The lock_timeout an apply would be given, which the findings' waits are worded for. */
  lockTimeoutMs: number | null;
}

/** `rehearse` (SPEC §9): what an apply up to `upTo` (or of all pending) would run. */
export interface RehearseRequest {
  upTo: string | null;
  allowOutOfOrder: boolean;
  timeouts: RunTimeouts;
}

/** One migration's attempt, as it finishes. */
export interface FinishedStep {
  migrationName: string;
  status: ApplyStepStatus;
  executionTimeMs: number | null;
}

/** A rollback run: exactly one of `to` and `steps` (SPEC §4 Rollback). */
export interface RollbackRunRequest {
  to: string | null;
  steps: number | null;
  markOnly: boolean;
  dryRun: boolean;
  timeouts: RunTimeouts;
}

/** One migration of a rollback run, as it finishes. */
export interface FinishedRollback {
  migrationName: string;
  status: RollbackStepStatus;
  executionTimeMs: number | null;
}

/**
 * The operations, the same in both modes. A migration whose SQL fails is a report (with `failed`
 * set, or a rollback `status` of `failed`), never an exception, whichever side ran it; anything
 * that stops an operation before it runs throws a `CommandFailure`.
 */
export interface Target {
  readonly config: TargetConfig;
  list(): Promise<StatusReport>;
  /**
   * `onFinished` is called as each migration finishes: where the run is local (direct mode), or
   * as Studio streams its progress (URL mode). Steps not reported so are in the report.
   */
  apply(request: ApplyRequest, onFinished: (step: FinishedStep) => void): Promise<ApplyReport>;
  rollback(request: {
    migrationName: string;
    markOnly: boolean;
    dryRun: boolean;
    timeouts: RunTimeouts;
  }): Promise<RollbackReport>;
  /**
   * `rollback --to` / `--steps`; `onFinished` is called as each migration finishes (see
   * `apply`). A step that fails is in the report (`failed`), not an exception.
   */
  rollbackMany(
    request: RollbackRunRequest,
    onFinished: (step: FinishedRollback) => void,
  ): Promise<RollbackRunReport>;
  adopt(request: { from: "dbmate" | "supabase"; table: string | null }): Promise<AdoptReport>;
  baseline(upTo: string): Promise<BaselineReport>;
  resolve(migrationName: string, as: Resolution): Promise<ResolveReport>;
  history(query: {
    limit: number | null;
    cursor: string | null;
    migrationName: string | null;
  }): Promise<HistoryPage>;
  /** Lints the pending (or named) migrations with the target's table sizes. Reads only. */
  lint(request: LintRequest): Promise<LintReport>;
  /**
   * Runs what an apply would run on the target in one transaction and rolls it back. A statement
   * that fails is in the report (`failed`), not an exception.
   */
  rehearse(request: RehearseRequest): Promise<RehearseReport>;
  /** Releases connections, so the process can exit as soon as the command is done. */
  close(): Promise<void>;
}

export const DEFAULT_MIGRATIONS_DIR = "migrations";

/** `--migrations-dir`, else `MIGRATIONS_DIR`, else `./migrations`, from the current directory. */
export function resolveMigrationsDir(flag: string | null, io: Io): string {
  const chosen = flag ?? nonEmpty(io.env.MIGRATIONS_DIR) ?? DEFAULT_MIGRATIONS_DIR;
  return resolve(io.cwd, chosen);
}

/**
 * Decides the target from the flags and the environment. `--url` means Studio; otherwise
 * `--database-url` or `DATABASE_URL` means the database directly.
 */
export function resolveTarget(flags: TargetFlags, io: Io): TargetConfig {
  const actor = flags.actor ?? defaultActor(io);
  if (!isValidActor(actor)) {
    throw new UsageError(`--actor must be ${ACTOR_RULE} (it is recorded as applied_by).`);
  }

  if (flags.url !== null) {
    if (flags.databaseUrl !== null) {
      throw new UsageError(
        "Give --url (a Studio) or --database-url (the database directly), not both.",
      );
    }
    if (flags.migrationsDir !== null) {
      throw new UsageError(
        "--migrations-dir does not apply with --url: Studio reads the migrations of its own MIGRATIONS_DIR.",
      );
    }
    const label = studioLabel(flags.url);
    if (label === null) {
      throw new UsageError(studioUrlProblem(flags.url));
    }
    const secret = flags.secret ?? nonEmpty(io.env.MIGRATION_SECRET);
    if (secret === null || secret === "") {
      throw new CommandFailure({
        code: "SECRET_MISSING",
        message: `No migration secret to send to ${label}: Studio refuses calls without one.`,
        hint: "Set MIGRATION_SECRET to the secret Studio runs with (or pass --secret, which other users of this machine can see in the process list).",
      });
    }
    return {
      mode: "url",
      url: flags.url,
      label,
      secret,
      actor,
      paste: pasteTarget(flags),
      timeoutMs: flags.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    };
  }

  if (flags.secret !== null) {
    throw new UsageError(
      "--secret is only for --url: the direct mode connects with the database URL's own credentials.",
    );
  }
  if (flags.timeoutMs !== null) {
    throw new UsageError(
      "--timeout is only for --url (how long to wait for Studio): the direct mode waits on the database, whose limits --lock-timeout and --statement-timeout set.",
    );
  }
  const fromFlag = flags.databaseUrl !== null;
  const databaseUrl = flags.databaseUrl ?? nonEmpty(io.env.DATABASE_URL);
  if (databaseUrl === null) {
    throw new UsageError(
      "No target. Point studio-migrate at a running Studio with --url <studio url> (and MIGRATION_SECRET), or at the database itself with --database-url <postgres url> or DATABASE_URL.",
    );
  }
  const problem = databaseUrlProblem(databaseUrl, fromFlag ? "--database-url" : "DATABASE_URL");
  if (problem !== null) throw new UsageError(problem);
  return {
    mode: "direct",
    databaseUrl,
    label: databaseLabel(databaseUrl),
    migrationsDir: resolveMigrationsDir(flags.migrationsDir, io),
    actor,
    paste: pasteTarget(flags),
  };
}

/**
 * Fails early and plainly when the migrations directory is not there: otherwise the engine sees
 * "no migrations" and reports every applied one as missing.
 */
export function requireMigrationsDir(directory: string): void {
  let isDirectory = false;
  try {
    isDirectory = statSync(directory).isDirectory();
  } catch {
    isDirectory = false;
  }
  if (!isDirectory) {
    throw new CommandFailure({
      code: "MIGRATIONS_DIR_NOT_FOUND",
      message: `The migrations directory ${directory} does not exist.`,
      hint: "Run from the repository root, or pass --migrations-dir <dir> (or set MIGRATIONS_DIR).",
    });
  }
}

/** Loads only the side this run needs: `pg` and Kysely for direct mode, the tRPC client for URL mode. */
export async function openTarget(
  config: TargetConfig,
  /** Says something the operator should know that is not a failure (on stderr). */
  note: (message: string) => void = () => {},
): Promise<Target> {
  if (config.mode === "direct") {
    const { openDirectTarget } = await withNavigator(() => import("./target-direct.ts"));
    return openDirectTarget(config);
  }
  const { openUrlTarget } = await import("./target-url.ts");
  return openUrlTarget(config, note);
}

/**
 * `pg` checks at import whether it runs in a Cloudflare Worker: where `navigator` is missing (Node
 * 20; later Nodes define it) it builds a `Response`, which loads Node's bundled undici, ~10 ms of
 * a deploy's no-op run. A `navigator` like later Nodes' answers the check; it only exists while
 * the modules load.
 */
async function withNavigator<T>(load: () => Promise<T>): Promise<T> {
  if ("navigator" in globalThis) return load();
  const major = process.versions.node.split(".")[0];
  Object.defineProperty(globalThis, "navigator", {
    value: { userAgent: `Node.js/${major}` },
    configurable: true,
  });
  try {
    return await load();
  } finally {
    Reflect.deleteProperty(globalThis, "navigator");
  }
}

/** `cli:<user>@<host>` (SPEC §6). */
function defaultActor(io: Io): string {
  let user: string | undefined;
  try {
    user = userInfo().username;
  } catch {
    // A container user without a passwd entry has no name to look up.
    user = io.env.USER ?? io.env.LOGNAME ?? io.env.USERNAME;
  }
  let host: string | undefined;
  try {
    host = hostname();
  } catch {
    host = undefined;
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  const clean = (text: string | undefined) => (text ?? "").replace(/[\u0000-\u001f\u007f]/g, "");
  return `cli:${clean(user) || "unknown"}@${clean(host) || "unknown"}`.slice(0, MAX_ACTOR_LENGTH);
}

function nonEmpty(value: string | undefined): string | null {
  return value === undefined || value === "" ? null : value;
}

/** The database URL as it may be printed: no password, no query string (which can hold one). */
function databaseLabel(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    const user = url.username === "" ? "" : `${decodeURIComponent(url.username)}@`;
    return `${url.protocol}//${user}${url.host}${url.pathname}`;
  } catch {
    return "the database given by --database-url or DATABASE_URL";
  }
}

/**
 * What is wrong with a database URL, in a sentence, or null when it is one: `pg` would take
 * `not-a-url` for a host and say "getaddrinfo ENOTFOUND base". The value is repeated only when
 * it cannot hold a password.
 */
export function databaseUrlProblem(value: string, source: string): string | null {
  const shown = value.includes("@") || value.includes(":") ? "" : ` (got "${value}")`;
  const rule = `${source} must be a postgres:// URL, e.g. postgres://user@db.internal:5432/platform${shown}`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${rule}.`;
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    return url.protocol === "http:" || url.protocol === "https:"
      ? `${rule}; ${url.protocol}// is a Studio's, given with --url.`
      : `${rule}; got a ${url.protocol}// URL.`;
  }
  return null;
}

/** What is wrong with `--url`, in a sentence. */
function studioUrlProblem(value: string): string {
  const rule = "--url must be Studio's http:// or https:// base URL, e.g. https://studio.example";
  let url: URL | null = null;
  try {
    url = new URL(value);
  } catch {
    // A host without a scheme is the usual slip: say what to write.
    if (/^[A-Za-z0-9.-]+(:\d+)?(\/.*)?$/.test(value)) {
      return `${rule} (got "${value}": did you mean https://${value}?).`;
    }
    return `${rule} (got "${value}").`;
  }
  if (url.protocol === "postgres:" || url.protocol === "postgresql:") {
    return `${rule}, not a database URL: give the database itself with --database-url.`;
  }
  // `localhost:3000` parses, with `localhost:` for its scheme.
  if (/^[A-Za-z0-9.-]+:\d+(\/.*)?$/.test(value)) {
    return `${rule} (got "${value}": did you mean http://${value}?).`;
  }
  return `${rule} (got "${value}").`;
}

function studioLabel(studioUrl: string): string | null {
  try {
    const url = new URL(studioUrl);
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    return `${url.origin}${url.pathname === "/" ? "" : url.pathname}`;
  } catch {
    return null;
  }
}
