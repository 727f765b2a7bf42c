import { randomUUID } from "node:crypto";
import { quoteLiteral } from "./tracking-sql.ts";
import type { Answer, Row, Transport } from "./transport.ts";

/**
 * Studio's sign-in state — its browser sessions and the tally of wrong secrets per address — kept
 * in the database every Studio replica already shares, so that signing out on one replica ends
 * the session on all of them and a guesser cannot spread attempts across replicas (SPEC §6).
 *
 * Why a schema of its own, created here on first use: these tables are Studio's, not the
 * platform's. `platform` holds exactly what migrations 000–008 make, and the platform's migrations
 * are a fixed set that must not grow a Studio concern; a table Studio needs for itself is created
 * idempotently (`if not exists`, under an advisory lock so that replicas starting together do not
 * race on the catalog) over whichever transport Studio uses — pg, PGlite or postgres-meta alike.
 */
export const STUDIO_AUTH_SCHEMA = "studio_auth";

const SESSIONS = `${STUDIO_AUTH_SCHEMA}.sessions`;
const WRONG_SECRETS = `${STUDIO_AUTH_SCHEMA}.wrong_secrets`;

/** Advisory-lock keys: classid for this store's locks ("StMi"), then objid. */
const LOCK_CLASS = 0x53_74_4d_69;
const SCHEMA_LOCK = 1;

const CREATE_TABLES_SQL = `select pg_advisory_xact_lock(${LOCK_CLASS}, ${SCHEMA_LOCK});
create schema if not exists ${STUDIO_AUTH_SCHEMA};
create table if not exists ${SESSIONS} (
  id_hash text primary key,
  actor text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create index if not exists sessions_expires_at_idx on ${SESSIONS} (expires_at);
create table if not exists ${WRONG_SECRETS} (
  id uuid primary key,
  address text not null,
  via text not null,
  at timestamptz not null default now()
);
create index if not exists wrong_secrets_address_at_idx on ${WRONG_SECRETS} (address, at);
create index if not exists wrong_secrets_at_idx on ${WRONG_SECRETS} (at)`;

const TABLES_EXIST_SQL = `select (to_regclass('${SESSIONS}') is not null and to_regclass('${WRONG_SECRETS}') is not null) as ready`;

/** How many wrong secrets one address may send within a window before sign-ins are refused. */
export interface ThrottlePolicy {
  limit: number;
  windowSeconds: number;
}

/** SPEC §6: after 10 wrong secrets from one address within 10 minutes. */
export const DEFAULT_THROTTLE_POLICY: ThrottlePolicy = { limit: 10, windowSeconds: 600 };

/** Where a wrong secret came from: the sign-in page, or a call with `x-migration-secret`. */
export type WrongSecretVia = "sign-in" | "header";

/**
 * A sign-in attempt let through the throttle is counted as a wrong secret at once, before the
 * secret is even compared, so that concurrent attempts cannot all pass the check before any is
 * counted; a right secret (or an attempt that never got to compare one) is then `forgive`n.
 */
export type SignInGate =
  | { throttled: true; retryAfterSeconds: number; failures: number }
  | { throttled: false; attemptId: string; failuresBefore: number };

export interface StudioAuthStoreOptions {
  /** The transport of the executor Studio already uses (`transportOf`). */
  transport: Transport;
  throttle?: ThrottlePolicy;
  /**
   * How long a sign-in or a session check waits for the database before it is answered as
   * unavailable. Default 10 s: a migration transport may wait minutes (postgres-meta's requests
   * may), a person at the sign-in page should not.
   */
  answerTimeoutMs?: number;
}

/** The database refused or did not answer: the caller cannot be told yes or no. */
export class StudioAuthStoreUnavailableError extends Error {
  constructor(action: string, reason: string) {
    super(`Studio's sign-in state could not be ${action}: ${reason}`);
    this.name = "StudioAuthStoreUnavailableError";
  }
}

export class StudioAuthStore {
  private readonly transport: Transport;
  private readonly throttle: ThrottlePolicy;
  private readonly answerTimeoutMs: number;
  private tables: Promise<void> | null = null;

  constructor(options: StudioAuthStoreOptions) {
    this.transport = options.transport;
    this.throttle = options.throttle ?? DEFAULT_THROTTLE_POLICY;
    this.answerTimeoutMs = options.answerTimeoutMs ?? 10_000;
    if (!(this.answerTimeoutMs > 0)) throw new RangeError("answerTimeoutMs must be above 0");
    if (!Number.isInteger(this.throttle.limit) || this.throttle.limit < 1)
      throw new RangeError("throttle.limit must be a whole number of at least 1");
    if (!Number.isInteger(this.throttle.windowSeconds) || this.throttle.windowSeconds < 1)
      throw new RangeError("throttle.windowSeconds must be a whole number of at least 1");
  }

  /** Creates the tables when they do not exist yet; once per store, again if they vanish. */
  ensureTables(): Promise<void> {
    this.tables ??= this.createTables().catch((error: unknown) => {
      this.tables = null;
      throw error;
    });
    return this.tables;
  }

  /** Records a session; `idHash` is a hash of the id the cookie carries, never the id itself. */
  async createSession(session: {
    idHash: string;
    actor: string;
    ttlSeconds: number;
    /** The sign-in attempt that proved the secret: it no longer counts as wrong. */
    forgiving?: string;
  }): Promise<void> {
    const ttl = wholeSeconds(session.ttlSeconds, "ttlSeconds");
    await this.run("saved", "unit", [
      ...(session.forgiving ? [forgiveSql(session.forgiving)] : []),
      `delete from ${SESSIONS} where expires_at < now()`,
      `insert into ${SESSIONS} (id_hash, actor, expires_at) values (${quoteLiteral(session.idHash)}, ${quoteLiteral(session.actor)}, now() + interval '${ttl} seconds')`,
    ]);
  }

  /** The actor of a session that exists and has not expired, or null. */
  async activeSession(idHash: string): Promise<{ actor: string } | null> {
    const rows = await this.run("read", "query", [
      `select actor from ${SESSIONS} where id_hash = ${quoteLiteral(idHash)} and expires_at > now()`,
    ]);
    const actor = rows[0]?.actor;
    return typeof actor === "string" ? { actor } : null;
  }

  /** Ends a session for every replica; the actor it belonged to, or null if there was none. */
  async endSession(idHash: string): Promise<{ actor: string } | null> {
    const rows = await this.run("ended", "query", [
      `delete from ${SESSIONS} where id_hash = ${quoteLiteral(idHash)} returning actor`,
    ]);
    const actor = rows[0]?.actor;
    return typeof actor === "string" ? { actor } : null;
  }

  /**
   * Lets a sign-in from `address` compare its secret, or says how long until it may: atomic per
   * address across replicas (an advisory lock on the address, held for the one transaction).
   */
  async beginSignIn(address: string): Promise<SignInGate> {
    const { limit, windowSeconds } = this.throttle;
    const attemptId = randomUUID();
    const a = quoteLiteral(address);
    const rows = await this.run("read", "unit", [
      `select pg_advisory_xact_lock(${LOCK_CLASS}, hashtext(${a}))`,
      `delete from ${WRONG_SECRETS} where at <= now() - interval '${windowSeconds} seconds'`,
      `with recent as (
         select at from ${WRONG_SECRETS}
          where address = ${a} and at > now() - interval '${windowSeconds} seconds'
          order by at desc limit ${limit}
       ), verdict as (
         select count(*)::int as failures,
                greatest(1, ceil(extract(epoch from (min(at) + interval '${windowSeconds} seconds' - now()))))::int as retry_after
           from recent
       ), claim as (
         insert into ${WRONG_SECRETS} (id, address, via)
         select ${quoteLiteral(attemptId)}::uuid, ${a}, 'sign-in' from verdict where failures < ${limit}
         returning id
       )
       select failures, retry_after, (select count(*) from claim)::int as claimed from verdict`,
    ]);
    const verdict = rows[0];
    const failures = Number(verdict?.failures);
    if (!verdict || !Number.isInteger(failures))
      throw new StudioAuthStoreUnavailableError("read", "the throttle's verdict was missing");
    if (Number(verdict.claimed) === 1)
      return { throttled: false, attemptId, failuresBefore: failures };
    return { throttled: true, retryAfterSeconds: Number(verdict.retry_after), failures };
  }

  /** The attempt did not prove a wrong secret (it was right, or never compared one). */
  async forgive(attemptId: string): Promise<void> {
    await this.run("saved", "query", [forgiveSql(attemptId)]);
  }

  /**
   * Counts a wrong secret that was not gated (a call with `x-migration-secret`, which keeps its
   * 401); the number of wrong secrets from `address` within the window, this one included.
   */
  async recordWrongSecret(address: string, via: WrongSecretVia): Promise<number> {
    const { windowSeconds } = this.throttle;
    const a = quoteLiteral(address);
    const rows = await this.run("saved", "unit", [
      `delete from ${WRONG_SECRETS} where at <= now() - interval '${windowSeconds} seconds'`,
      `insert into ${WRONG_SECRETS} (id, address, via) values (${quoteLiteral(randomUUID())}::uuid, ${a}, ${quoteLiteral(via)})`,
      `select count(*)::int as failures from ${WRONG_SECRETS} where address = ${a} and at > now() - interval '${windowSeconds} seconds'`,
    ]);
    return Number(rows[0]?.failures ?? 0);
  }

  private async createTables(): Promise<void> {
    const exists = await this.send("query", TABLES_EXIST_SQL);
    if (exists.kind === "rows" && exists.rows[0]?.ready === true) return;
    rowsOf(await this.send("unit", CREATE_TABLES_SQL), "created");
  }

  /** What the database answered, or `unknown` once `answerTimeoutMs` has passed without one. */
  private async send(as: "unit" | "query", sql: string): Promise<Answer> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Answer>((resolve) => {
      timer = setTimeout(
        () => resolve({ kind: "unknown", reason: `no answer within ${this.answerTimeoutMs} ms` }),
        this.answerTimeoutMs,
      );
    });
    try {
      const sent = as === "unit" ? this.transport.unit(sql) : this.transport.query(sql);
      return await Promise.race([sent, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Runs statements as one unit (a transaction) or one query, after making sure the tables
   * exist; if they were dropped under a running Studio, creates them again once.
   */
  private async run(action: string, as: "unit" | "query", statements: string[]): Promise<Row[]> {
    const sql = statements.join(";\n");
    for (let attempt = 0; ; attempt++) {
      await this.ensureTables();
      const answer = await this.send(as, sql);
      if (attempt === 0 && answer.kind === "sql" && isMissingRelation(answer.failure.code)) {
        this.tables = null;
        continue;
      }
      return rowsOf(answer, action);
    }
  }
}

function forgiveSql(attemptId: string): string {
  return `delete from ${WRONG_SECRETS} where id = ${quoteLiteral(attemptId)}::uuid`;
}

function rowsOf(answer: Answer, action: string): Row[] {
  switch (answer.kind) {
    case "rows":
      return answer.rows;
    case "sql":
      return unavailable(action, answer.failure.message);
    case "unknown":
    case "unavailable":
      return unavailable(action, answer.reason);
  }
}

function unavailable(action: string, reason: string): never {
  throw new StudioAuthStoreUnavailableError(action, reason);
}

/** 42P01 undefined table, 3F000 undefined schema. */
function isMissingRelation(code: string | null): boolean {
  return code === "42P01" || code === "3F000";
}

function wholeSeconds(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`${name} must be a whole number of seconds, at least 1`);
  return value;
}
