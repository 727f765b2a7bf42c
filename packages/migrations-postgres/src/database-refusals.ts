import {
  type DatabaseRefusal,
  DatabaseRefusedError,
  type SqlFailure,
} from "@studio/migrations-core";

/**
 * The database answered and refused the engine's role — a missing privilege, a read-only standby,
 * a login, no such database — said as what it is (`DATABASE_REFUSED`, the privilege and the object
 * named, the hint saying what to grant), never as "the database is unreachable" nor as a failure
 * of a migration's SQL.
 *
 * Two ways in, both pure:
 *
 * - {@link refusalOf}: from a Postgres error met while doing the engine's own work (reading the
 *   state or the audit trail, creating the tracking tables, recording). Not for errors of a
 *   migration's own SQL: a migration refused a privilege has failed, and is recorded so.
 * - {@link TARGET_CHECK_SQL} (or just {@link STANDBY_CHECK_SQL}) and {@link targetRefusal} (or
 *   {@link standbyRefusal}): asked before an executor's first write, so that a standby, read-only
 *   transactions or missing privileges on the tracking tables are refused before anything runs,
 *   naming the role (`current_user`, known only there).
 */

/** The tracking tables (SPEC §3), by the names Postgres' messages use (unqualified). */
const TRACKING_TABLES = ["schema_migrations", "schema_migration_events"] as const;
/** Objects of the tracking tables' own: their identity sequence, the append-only trigger function. */
const TRACKING_OBJECTS = new Set<string>([
  ...TRACKING_TABLES,
  "schema_migration_events_id_seq",
  "schema_migration_events_append_only",
]);

/** The kinds of object Postgres' "permission denied for …" and "must be owner of …" name, longest first. */
const KINDS = [
  "materialized view",
  "foreign table",
  "foreign-data wrapper",
  "foreign server",
  "large object",
  "operator class",
  "operator family",
  "text search configuration",
  "text search dictionary",
  "event trigger",
  "statistics object",
  "table",
  "relation",
  "view",
  "sequence",
  "index",
  "schema",
  "database",
  "function",
  "procedure",
  "routine",
  "aggregate",
  "type",
  "domain",
  "language",
  "tablespace",
  "parameter",
  "collation",
  "conversion",
  "operator",
  "extension",
  "publication",
  "subscription",
].join("|");

/** Who the statements in a hint are for, when the database did not say (its `current_user`). */
const SOMEONE = "<role>";
const WHO =
  "<role> being the role the engine connects as (the user of the database URL, or postgres-meta's)";

const GRANT_TRACKING = (role: string) =>
  `GRANT USAGE ON SCHEMA platform TO ${role}; GRANT SELECT, INSERT, UPDATE ON platform.schema_migrations TO ${role}; GRANT SELECT, INSERT ON platform.schema_migration_events TO ${role};`;
const OWN_TRACKING = (role: string) =>
  `ALTER TABLE platform.schema_migrations OWNER TO ${role}; ALTER TABLE platform.schema_migration_events OWNER TO ${role};`;

const STANDBY_MESSAGE =
  "The target is a read-only standby (in recovery): migrations must run on the primary.";
const STANDBY_HINT =
  "Point the connection at the primary server, not at a replica (nothing was run or recorded).";

/**
 * What the database refused, as the core's `DatabaseRefusedError`, or null when `failure` is not a
 * refusal (an outage, a lost connection, a lock time-out, a missing table: the caller's usual
 * handling applies). `doing` is what the engine was doing, as after "Could not" — e.g. `read the
 * migration state`, `create the tracking tables`, `record the change`.
 *
 * A failure without a SQLSTATE (a connection error whose code was lost on the way) is still
 * recognised by the few login messages Postgres sends before a session exists.
 */
export function refusalOf(
  failure: SqlFailure,
  doing: string,
  options: {
    /**
     * Whether what failed touched the tracking tables (the default). False for a read of another
     * tool's history (`adopt`): dbmate's table is called `schema_migrations` too, and Postgres
     * names tables unqualified.
     */
    trackingTables?: boolean;
  } = {},
): DatabaseRefusedError | null {
  const tracking = (name: string) => options.trackingTables !== false && TRACKING_OBJECTS.has(name);
  const code = failure.code;
  const message = failure.message.trim();
  const said = `${withoutFullStop(message)}${failure.detail ? ` (${withoutFullStop(failure.detail)})` : ""}`;
  const refused = (reason: DatabaseRefusal, hint: string) =>
    new DatabaseRefusedError(reason, `Could not ${doing}: the database refused: ${said}.`, {
      hint,
    });

  if (code === "57P03" || code === "25006" || code === null) {
    if (/hot standby|during recovery/i.test(`${message} ${failure.detail ?? ""}`)) {
      return new DatabaseRefusedError(
        "standby",
        `Could not ${doing}: ${STANDBY_MESSAGE} (${said})`,
        {
          hint: STANDBY_HINT,
        },
      );
    }
  }
  if (code === "25006") {
    return refused(
      "read_only",
      `The target accepts no writes. If it is a standby (a replica), point the connection at the primary; if it is the primary, its transactions are read-only by configuration: \`ALTER ROLE ${SOMEONE} RESET default_transaction_read_only;\` (or the database's: \`ALTER DATABASE … RESET default_transaction_read_only;\`), ${WHO}.`,
    );
  }

  const login = loginRefusal(message, failure.detail, code);
  if (login !== null) return refused(login.reason, login.hint);

  if (code === null || !code.startsWith("42")) return null;
  const owner = new RegExp(`^must be owner of (${KINDS}) "?([^"]+?)"?$`).exec(
    withoutFullStop(message),
  );
  if (owner) {
    const [, kind = "", name = ""] = owner;
    if (tracking(name)) {
      return refused(
        "privilege",
        `Only the owner of the tracking tables may create or upgrade them (this version adds columns to platform.schema_migrations). Make the role the engine connects as their owner — as their current owner or a superuser: \`${OWN_TRACKING(SOMEONE)}\` — or run the engine once as their owner; ${WHO}.`,
      );
    }
    return refused(
      "privilege",
      `Only the owner of ${kind} ${name} may do this: make the role the engine connects as its owner (\`ALTER ${kind.toUpperCase()} ${quoteIdentifier(name)} OWNER TO ${SOMEONE};\`) or a member of the owning role, or connect as the owner; ${WHO}.`,
    );
  }
  if (code !== "42501") return null;

  const denied = new RegExp(`^permission denied for (${KINDS}) "?([^"]+?)"?$`).exec(
    withoutFullStop(message),
  );
  if (denied) {
    const [, kind = "", name = ""] = denied;
    if (kind === "database") {
      return /CONNECT/.test(failure.detail ?? "")
        ? refused(
            "privilege",
            `Grant it, as the database's owner or a superuser: \`GRANT CONNECT ON DATABASE ${quoteIdentifier(name)} TO ${SOMEONE};\`, ${WHO}.`,
          )
        : refused(
            "privilege",
            `The role the engine connects as needs CREATE on the database: creating the tracking tables runs \`create schema if not exists platform\` (migration 000), which Postgres checks against it even when the schema exists. As the database's owner or a superuser: \`GRANT CREATE ON DATABASE ${quoteIdentifier(name)} TO ${SOMEONE};\` — or create the tracking tables once as a role that has it (apply 000 as that role); ${WHO}.`,
          );
    }
    if (kind === "schema") {
      return refused(
        "privilege",
        `The role the engine connects as needs USAGE and CREATE on the schema — best, to own it. As the schema's owner or a superuser: \`GRANT USAGE, CREATE ON SCHEMA ${quoteIdentifier(name)} TO ${SOMEONE};\` (or \`ALTER SCHEMA ${quoteIdentifier(name)} OWNER TO ${SOMEONE};\`), ${WHO}.`,
      );
    }
    if (tracking(name)) {
      return refused(
        "privilege",
        `The role the engine connects as must be able to read and write the tracking tables — best, own them. As their owner or a superuser: \`${OWN_TRACKING(SOMEONE)}\`, or at least \`${GRANT_TRACKING(SOMEONE)}\`; ${WHO}.`,
      );
    }
    return refused(
      "privilege",
      `Grant the role the engine connects as what it needs on ${kind} ${name} (as its owner or a superuser), or connect as a role that has it; ${WHO}.`,
    );
  }
  // Another privilege (`permission denied to …`, `must be superuser …`), or a message in
  // another language: said as Postgres said it.
  return refused(
    "privilege",
    `Grant the role the engine connects as the privilege named, or connect as a role that has it. The engine itself needs, on the database: CREATE (to create the platform schema's tracking tables) — or the tracking tables created for it — and on them: \`${GRANT_TRACKING(SOMEONE)}\`; ${WHO}.`,
  );
}

/**
 * A login the server refused (SQLSTATE class 28, 3D000), or its message when the code was lost:
 * these come before a session exists, so a migration's SQL never raises them.
 */
function loginRefusal(
  message: string,
  detail: string | null,
  code: string | null,
): { reason: "login" | "no_database"; hint: string } | null {
  if (code !== null && !code.startsWith("28") && code !== "3D000") return null;
  const quoted = (pattern: RegExp) => pattern.exec(message)?.[1] ?? null;
  const database = quoted(/database "([^"]+)" does not exist/);
  if (database !== null || code === "3D000") {
    return {
      reason: "no_database",
      hint: `Check the database name in the connection, or create it: \`CREATE DATABASE ${database === null ? "…" : quoteIdentifier(database)};\`.`,
    };
  }
  if (/password authentication failed|authentication failed for user/i.test(message)) {
    return {
      reason: "login",
      hint: "Check the user name and the password of the connection (the database URL, or postgres-meta's).",
    };
  }
  if (/no pg_hba\.conf entry|pg_hba\.conf rejects/i.test(message)) {
    return {
      reason: "login",
      hint: "The server's pg_hba.conf admits no such connection: add an entry for this host, user and database (and reload), or connect as it requires (SSL, another user).",
    };
  }
  const role = quoted(/role "([^"]+)" does not exist/);
  if (role !== null) {
    return {
      reason: "login",
      hint: `Check the user name of the connection, or create the role: \`CREATE ROLE ${quoteIdentifier(role)} LOGIN;\`.`,
    };
  }
  const nologin = quoted(/role "([^"]+)" is not permitted to log in/);
  if (nologin !== null) {
    return {
      reason: "login",
      hint: `Allow it to log in: \`ALTER ROLE ${quoteIdentifier(nologin)} LOGIN;\`, or connect as another role.`,
    };
  }
  if (code === null) return null;
  return {
    reason: "login",
    hint: `Check the user name, the password and the server's pg_hba.conf for this connection${detail ? ` (${withoutFullStop(detail)})` : ""}.`,
  };
}

/** `select` one row: whether the target is a standby in recovery (`in_recovery`). */
export const STANDBY_CHECK_SQL = "select pg_catalog.pg_is_in_recovery() as in_recovery";

/** A standby's answer to {@link STANDBY_CHECK_SQL} as a refusal; null for a primary. */
export function standbyRefusal(
  row: { in_recovery?: unknown } | undefined,
): DatabaseRefusedError | null {
  return truthy(row?.in_recovery)
    ? new DatabaseRefusedError("standby", STANDBY_MESSAGE, { hint: STANDBY_HINT })
    : null;
}

/**
 * One row about the target, before an executor's first write: everything {@link targetRefusal}
 * needs to refuse a standby, read-only transactions, or a role that could not create or write the
 * tracking tables — and, as `tracking`, whether the tracking tables are there (`complete`),
 * there without the columns this version records (`incomplete`), or not (`none`). Read from the
 * catalogs by oid, so it needs no privilege on the platform schema itself (a lookup by name would
 * fail on a schema the role may not use). One statement, so over postgres-meta it is one request;
 * the schema and the two tables are each looked up once (joined), which a new backend — what
 * postgres-meta gives every request — plans in 7.7 ms where a subquery apiece took 10.6 (warm:
 * 1.8 ms against 3.8).
 */
export const TARGET_CHECK_SQL = `select
  pg_catalog.pg_is_in_recovery() as in_recovery,
  pg_catalog.current_setting('transaction_read_only') = 'on' as read_only,
  current_user::text as role,
  pg_catalog.current_database()::text as database,
  pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE') as database_create,
  pg_catalog.has_schema_privilege(n.oid, 'USAGE') as schema_usage,
  pg_catalog.has_schema_privilege(n.oid, 'CREATE') as schema_create,
  pg_catalog.has_table_privilege(m.oid, 'SELECT') and pg_catalog.has_table_privilege(m.oid, 'INSERT') and pg_catalog.has_table_privilege(m.oid, 'UPDATE') as migrations_writable,
  pg_catalog.has_table_privilege(e.oid, 'SELECT') and pg_catalog.has_table_privilege(e.oid, 'INSERT') as events_writable,
  case when m.oid is not null or e.oid is not null
    then coalesce(pg_catalog.pg_has_role(m.relowner, 'USAGE'), true) and coalesce(pg_catalog.pg_has_role(e.relowner, 'USAGE'), true)
  end as tracking_owned,
  case
    when m.oid is null or e.oid is null then 'none'
    when (select pg_catalog.count(*) from pg_catalog.pg_attribute a
           where not a.attisdropped
             and ((a.attrelid = m.oid and a.attname in ('up_sql', 'transactional'))
               or (a.attrelid = e.oid and a.attname = 'resolution'))) = 3
    then 'complete'
    else 'incomplete'
  end as tracking
from (select) o
left join pg_catalog.pg_namespace n on n.nspname = 'platform'
left join pg_catalog.pg_class m on m.relnamespace = n.oid and m.relname = 'schema_migrations'
left join pg_catalog.pg_class e on e.relnamespace = n.oid and e.relname = 'schema_migration_events'`;

/** The row {@link TARGET_CHECK_SQL} answers (booleans may come as `t`/`f` text over some transports). */
export interface TargetCheckRow {
  in_recovery: unknown;
  read_only: unknown;
  role: unknown;
  database: unknown;
  database_create: unknown;
  /** null when there is no `platform` schema. */
  schema_usage: unknown;
  schema_create: unknown;
  /** null when the table is not there. */
  migrations_writable: unknown;
  events_writable: unknown;
  /** Whether the connecting role owns (or is a member of the owner of) both tables; null when neither is there. */
  tracking_owned: unknown;
  tracking: unknown;
}

/**
 * The answer to {@link TARGET_CHECK_SQL} as a refusal, naming the role and the exact statements
 * to grant what it lacks; null when the engine can go ahead: a primary, writable transactions,
 * and — as the tracking tables are — the privileges to create them (CREATE on the database, for
 * 000's `create schema if not exists`, and on the schema when it exists), to upgrade them (their
 * ownership), or to use them (USAGE on the schema; SELECT, INSERT, UPDATE on
 * `schema_migrations`; SELECT, INSERT on `schema_migration_events`).
 */
export function targetRefusal(row: TargetCheckRow | undefined): DatabaseRefusedError | null {
  if (row === undefined) return null;
  if (truthy(row.in_recovery)) {
    return new DatabaseRefusedError("standby", STANDBY_MESSAGE, { hint: STANDBY_HINT });
  }
  const role = typeof row.role === "string" ? row.role : null;
  const who = role === null ? SOMEONE : quoteIdentifier(role);
  const named = role === null ? "The role the engine connects as" : `The role ${role}`;
  const database = typeof row.database === "string" ? row.database : "…";
  if (truthy(row.read_only)) {
    return new DatabaseRefusedError(
      "read_only",
      `The target accepts no writes: transactions of ${role ?? "the connecting role"} are read-only (default_transaction_read_only), so migrations cannot run.`,
      {
        hint: `Turn it off, as a superuser: \`ALTER ROLE ${who} RESET default_transaction_read_only;\` (or the database's: \`ALTER DATABASE ${quoteIdentifier(database)} RESET default_transaction_read_only;\`) — or point the connection at the primary if this is a replica.`,
      },
    );
  }
  const missing: string[] = [];
  const grants: string[] = [];
  const tracking = row.tracking;
  const schemaExists = row.schema_usage !== null && row.schema_usage !== undefined;
  if (tracking !== "complete") {
    // Creating (or completing) them runs 000: `create schema if not exists platform` first.
    if (!truthy(row.database_create)) {
      missing.push(`CREATE on database ${database}`);
      grants.push(`GRANT CREATE ON DATABASE ${quoteIdentifier(database)} TO ${who};`);
    }
    if (schemaExists && !(truthy(row.schema_usage) && truthy(row.schema_create))) {
      missing.push("USAGE and CREATE on schema platform");
      grants.push(`GRANT USAGE, CREATE ON SCHEMA platform TO ${who};`);
    }
    if (tracking === "incomplete" && row.tracking_owned !== null && !truthy(row.tracking_owned)) {
      missing.push(
        "the ownership of the tracking tables (to add the columns this version records)",
      );
      grants.push(OWN_TRACKING(who));
    }
    if (missing.length === 0) return null;
    return new DatabaseRefusedError(
      "privilege",
      `${named} cannot create the tracking tables: it lacks ${missing.join(", ")}.${missing[0]?.startsWith("CREATE on database") ? " (000 runs `create schema if not exists platform`, which Postgres checks against CREATE on the database even when the schema exists.)" : ""}`,
      {
        hint: `Grant it, as the owner or a superuser: \`${grants.join(" ")}\` — or create the tracking tables once as a role that may (apply 000 as that role) and grant ${role ?? "this role"} their use.`,
      },
    );
  }
  if (!truthy(row.schema_usage)) missing.push("USAGE on schema platform");
  if (!truthy(row.migrations_writable))
    missing.push("SELECT, INSERT and UPDATE on platform.schema_migrations");
  if (!truthy(row.events_writable))
    missing.push("SELECT and INSERT on platform.schema_migration_events");
  if (missing.length === 0) return null;
  return new DatabaseRefusedError(
    "privilege",
    `${named} cannot use the tracking tables: it lacks ${missing.join(", ")}.`,
    {
      hint: `Make it their owner, as their owner or a superuser: \`${OWN_TRACKING(who)}\` — or at least \`${GRANT_TRACKING(who)}\``,
    },
  );
}

function truthy(value: unknown): boolean {
  return value === true || value === "t" || value === "true" || value === "on";
}

function withoutFullStop(text: string): string {
  return text.trim().replace(/\.$/, "");
}

/** An identifier as SQL would need it: bare when it is plain lowercase, double-quoted otherwise. */
function quoteIdentifier(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) && !RESERVED.has(name)
    ? name
    : `"${name.replaceAll('"', '""')}"`;
}

/** Reserved words a role or database could be named after (a bare one would not parse). */
const RESERVED = new Set([
  "all",
  "analyse",
  "analyze",
  "and",
  "any",
  "array",
  "as",
  "asc",
  "authorization",
  "both",
  "case",
  "check",
  "collate",
  "column",
  "constraint",
  "create",
  "current_role",
  "current_user",
  "default",
  "desc",
  "distinct",
  "do",
  "else",
  "end",
  "except",
  "false",
  "for",
  "foreign",
  "from",
  "grant",
  "group",
  "having",
  "in",
  "into",
  "is",
  "join",
  "limit",
  "not",
  "null",
  "on",
  "only",
  "or",
  "order",
  "primary",
  "public",
  "references",
  "select",
  "session_user",
  "table",
  "then",
  "to",
  "true",
  "union",
  "unique",
  "user",
  "using",
  "when",
  "where",
  "with",
]);
