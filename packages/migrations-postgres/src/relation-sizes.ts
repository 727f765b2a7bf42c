import type {
  RelationKind,
  RelationLockHolder,
  RelationSize,
  TableLockMode,
} from "@studio/migrations-core";
import { quoteLiteral } from "./tracking-sql.ts";

/**
 * The live sizes and lock holders of relations that pending migrations would touch (SPEC §9
 * "Lint"): one read-only statement, as text, so that every transport — pg, PGlite, postgres-meta
 * (one request) — sends it as it is; and a tolerant reader of what each transport gives back.
 */

/** The most names one statement asks about: more would only come from a runaway caller. */
export const MAX_RELATION_NAMES = 10_000;

/** How many characters of a lock holder's query are kept. */
const QUERY_EXCERPT = 200;

/** A part of a name: a double-quoted identifier (`""` for a quote inside), or a bare one. */
const PART = /"((?:[^"]|"")+)"|([^".\s]+)/y;

/** PostgreSQL's longest identifier, in bytes (NAMEDATALEN - 1): longer ones are cut, as it cuts them. */
const MAX_IDENTIFIER_BYTES = 63;

/**
 * One statement answering, for each name in order, one row: `name` (as asked), `relation` (what it
 * resolved to, `schema.name` as `format('%I.%I')` writes it, or null), `kind` (`pg_class.relkind`),
 * `estimated_rows` (`reltuples`), `total_bytes` (`pg_total_relation_size`, see below) and
 * `lock_holders` (a JSON array: every other session's lock on it from `pg_locks`, held or queued
 * for, with what `pg_stat_activity` says that session is doing).
 *
 * A name is `relation` or `schema.relation`, each part a bare identifier (folded to lower case) or
 * a "double-quoted" one, as SQL — and `to_regclass` — read it. An unqualified name resolves with
 * `to_regclass`, through the asking session's `search_path`; a qualified one is looked up in the
 * catalog by its exact names, which — unlike `to_regclass` — needs no USAGE on the schema (one
 * schema the role may not use would otherwise fail the whole statement). Names come from parsed
 * migration SQL, so they are data, never SQL: each part is an `E'…'` literal. A string that is no
 * such name (`a.b.c`, an unbalanced quote, an empty string) is refused here, naming it.
 *
 * It takes no lock that could wait: while another session holds or awaits ACCESS EXCLUSIVE on a
 * relation (or its TOAST table or an index), `pg_total_relation_size` would queue behind it, so its
 * `total_bytes` is then the catalog's estimate — pages as of the last vacuum or analyze, times the
 * block size — instead.
 */
export function relationSizesSql(names: readonly string[]): string {
  if (names.length > MAX_RELATION_NAMES) {
    throw new RangeError(
      `relationSizesSql: ${names.length} names asked for, at most ${MAX_RELATION_NAMES} are answered at once`,
    );
  }
  const parsed = names.map((name) => {
    const parts = nameParts(name);
    if (parts === null) {
      throw new TypeError(
        `relationSizesSql: ${JSON.stringify(name.slice(0, 200))} is not a relation name: expected relation or schema.relation, each part a bare identifier or a "double-quoted" one`,
      );
    }
    return { name, parts };
  });
  if (names.length === 0) return EMPTY_SQL;
  const values = parsed
    .map(({ name, parts }, index) => {
      const [first = "", second] = parts;
      // An unqualified name goes to to_regclass re-quoted, so that it reads exactly one identifier.
      return second === undefined
        ? `(${index + 1}, ${quoteLiteral(name)}, null, ${quoteLiteral(quotedIdentifier(first))})`
        : `(${index + 1}, ${quoteLiteral(name)}, ${quoteLiteral(first)}, ${quoteLiteral(second)})`;
    })
    .join(", ");
  return `with requested (ord, name, nspname, relname) as (values ${values})
select r.name,
  case when c.oid is null then null else pg_catalog.format('%I.%I', n.nspname, c.relname) end as relation,
  c.relkind::text as kind,
  c.reltuples::float8 as estimated_rows,
  case
    when c.oid is null then null
    -- pg_total_relation_size opens the table, its TOAST table and its indexes with ACCESS SHARE,
    -- which queues behind an ACCESS EXCLUSIVE held or awaited by anyone: measuring would then hang
    -- on exactly the lock this is asked to report. The catalog's page counts need no lock.
    when exists (
      select from pg_catalog.pg_locks x
      where x.locktype = 'relation' and x.mode = 'AccessExclusiveLock'
        and x.database = (select d.oid from pg_catalog.pg_database d where d.datname = pg_catalog.current_database())
        and x.pid is distinct from pg_catalog.pg_backend_pid()
        and (x.relation = c.oid or x.relation = c.reltoastrelid
             or x.relation in (select i.indexrelid from pg_catalog.pg_index i where i.indrelid = c.oid))
    ) then (c.relpages::bigint
            + coalesce((select t.relpages from pg_catalog.pg_class t where t.oid = c.reltoastrelid), 0)
            + coalesce((select pg_catalog.sum(ic.relpages) from pg_catalog.pg_index i
                          join pg_catalog.pg_class ic on ic.oid = i.indexrelid where i.indrelid = c.oid), 0))
           * pg_catalog.current_setting('block_size')::bigint
    else pg_catalog.pg_total_relation_size(c.oid)
  end as total_bytes,
  coalesce((
    select pg_catalog.json_agg(pg_catalog.json_build_object(
        'pid', l.pid,
        'mode', l.mode,
        'granted', l.granted,
        'user', a.usename,
        'application_name', a.application_name,
        'state', a.state,
        -- waitstart is PostgreSQL 14+; read through to_jsonb so older servers answer null.
        'since', case when l.granted then coalesce(a.xact_start, a.query_start)
                      else coalesce((pg_catalog.to_jsonb(l) ->> 'waitstart')::timestamptz, a.query_start) end,
        'query', pg_catalog.left(a.query, ${QUERY_EXCERPT}))
      order by l.granted desc, l.pid, l.mode)
    from pg_catalog.pg_locks l
    left join pg_catalog.pg_stat_activity a on a.pid = l.pid
    where l.locktype = 'relation'
      and l.database = (select d.oid from pg_catalog.pg_database d where d.datname = pg_catalog.current_database())
      and l.relation = c.oid
      and l.pid is distinct from pg_catalog.pg_backend_pid()
  ), '[]'::json) as lock_holders
from requested r
left join pg_catalog.pg_class c on c.oid = case
  when r.nspname is null then pg_catalog.to_regclass(r.relname)
  else (select x.oid from pg_catalog.pg_class x join pg_catalog.pg_namespace xn on xn.oid = x.relnamespace
         where xn.nspname = r.nspname and x.relname = r.relname)
end
left join pg_catalog.pg_namespace n on n.oid = c.relnamespace
order by r.ord`;
}

/**
 * The identifiers of `relation` or `schema.relation` as PostgreSQL reads them (bare ones folded to
 * lower case, both cut at 63 bytes), or null when the string is no such name.
 */
function nameParts(name: string): string[] | null {
  if (name.includes("\u0000")) return null;
  const parts: string[] = [];
  let index = 0;
  for (;;) {
    PART.lastIndex = index;
    const match = PART.exec(name);
    if (match === null) return null;
    const quoted = match[1];
    // Only ASCII letters fold, as in a UTF-8 database.
    const part =
      quoted === undefined
        ? (match[2] ?? "").replace(/[A-Z]+/g, (l) => l.toLowerCase())
        : quoted.replaceAll('""', '"');
    parts.push(truncateIdentifier(part));
    index = PART.lastIndex;
    if (index === name.length) break;
    if (name[index] !== "." || parts.length === 2) return null;
    index++;
  }
  return parts;
}

function truncateIdentifier(identifier: string): string {
  if (Buffer.byteLength(identifier, "utf8") <= MAX_IDENTIFIER_BYTES) return identifier;
  let cut = "";
  for (const char of identifier) {
    if (Buffer.byteLength(cut + char, "utf8") > MAX_IDENTIFIER_BYTES) break;
    cut += char;
  }
  return cut;
}

function quotedIdentifier(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/** Asked about no name: the same columns, no row (a statement still, so callers need no special case). */
const EMPTY_SQL = `select null::text as name, null::text as relation, null::text as kind, null::float8 as estimated_rows,
  null::bigint as total_bytes, '[]'::json as lock_holders
where false`;

const KINDS: Readonly<Record<string, RelationKind>> = {
  r: "table",
  p: "partitioned table",
  i: "index",
  I: "partitioned index",
  v: "view",
  m: "materialized view",
  S: "sequence",
  f: "foreign table",
  t: "toast table",
  c: "composite type",
};

const LOCK_MODES: Readonly<Record<string, TableLockMode>> = {
  AccessShareLock: "ACCESS SHARE",
  RowShareLock: "ROW SHARE",
  RowExclusiveLock: "ROW EXCLUSIVE",
  ShareUpdateExclusiveLock: "SHARE UPDATE EXCLUSIVE",
  ShareLock: "SHARE",
  ShareRowExclusiveLock: "SHARE ROW EXCLUSIVE",
  ExclusiveLock: "EXCLUSIVE",
  AccessExclusiveLock: "ACCESS EXCLUSIVE",
};

/**
 * The rows {@link relationSizesSql} answered, as {@link RelationSize}s in the same order. Tolerant
 * of how each transport hands values over — bigint and numeric as strings (pg) or numbers, JSON as
 * parsed values or as text, timestamps as strings or `Date`s, booleans as `t`/`f` — and strict
 * about everything else: a row that is not one of these is an error naming the row and the field.
 */
export function parseRelationSizes(rows: readonly unknown[]): RelationSize[] {
  return rows.map((row, index) => {
    const at = `relation sizes, row ${index + 1}`;
    if (!isRecord(row)) throw new TypeError(`${at}: expected an object, got ${describe(row)}`);
    const field = new Fields(row, at);
    const name = field.text("name");
    const relation = field.optionalText("relation");
    if (relation === null) {
      return {
        name,
        exists: false,
        relation: null,
        kind: null,
        estimatedRows: null,
        totalBytes: null,
        lockHolders: [],
      };
    }
    const relkind = field.optionalText("kind");
    const kind = relkind === null ? null : KINDS[relkind];
    if (kind === undefined) return field.fail("kind", "a pg_class.relkind");
    const reltuples = field.optionalNumber("estimated_rows");
    const holders = field.json("lock_holders");
    if (!Array.isArray(holders)) return field.fail("lock_holders", "a JSON array");
    return {
      name,
      exists: true,
      relation,
      kind,
      // -1: never vacuumed or analyzed (PostgreSQL 14+), not "minus one row".
      estimatedRows: reltuples === null || reltuples < 0 ? null : Math.round(reltuples),
      totalBytes: field.optionalNumber("total_bytes"),
      lockHolders: holders.map((holder, k) => lockHolder(holder, `${at}, lock holder ${k + 1}`)),
    };
  });
}

function lockHolder(value: unknown, at: string): RelationLockHolder {
  if (!isRecord(value)) throw new TypeError(`${at}: expected an object, got ${describe(value)}`);
  const field = new Fields(value, at);
  const mode = field.text("mode");
  const since = field.optionalTimestamp("since");
  const applicationName = field.optionalText("application_name");
  return {
    pid: field.optionalNumber("pid"),
    mode: LOCK_MODES[mode] ?? mode,
    granted: field.boolean("granted"),
    user: field.optionalText("user"),
    applicationName: applicationName === "" ? null : applicationName,
    state: field.optionalText("state"),
    since,
    query: field.optionalText("query"),
  };
}

/** Reads one row's fields, each error naming the row and the field. */
class Fields {
  constructor(
    private readonly row: Record<string, unknown>,
    private readonly at: string,
  ) {}

  fail(key: string, expected: string): never {
    throw new TypeError(`${this.at}: ${key} is ${describe(this.row[key])}, expected ${expected}`);
  }

  text(key: string): string {
    const value = this.row[key];
    return typeof value === "string" ? value : this.fail(key, "text");
  }

  optionalText(key: string): string | null {
    const value = this.row[key];
    if (value === null || value === undefined) return null;
    return typeof value === "string" ? value : this.fail(key, "text or null");
  }

  optionalNumber(key: string): number | null {
    const value = this.row[key];
    if (value === null || value === undefined) return null;
    if (typeof value === "number" && Number.isFinite(value)) return value;
    if (typeof value === "bigint") return Number(value);
    // pg hands bigint and numeric over as text, to lose nothing; sizes fit a double.
    if (typeof value === "string" && /^-?\d+(?:\.\d+)?(?:e[+-]?\d+)?$/i.test(value.trim())) {
      return Number(value);
    }
    return this.fail(key, "a number or null");
  }

  boolean(key: string): boolean {
    const value = this.row[key];
    if (value === true || value === "t" || value === "true") return true;
    if (value === false || value === "f" || value === "false") return false;
    return this.fail(key, "a boolean");
  }

  optionalTimestamp(key: string): string | null {
    const value = this.row[key];
    if (value === null || value === undefined) return null;
    const date =
      value instanceof Date ? value : typeof value === "string" ? new Date(value) : undefined;
    if (date === undefined || Number.isNaN(date.getTime())) {
      return this.fail(key, "a timestamp or null");
    }
    return date.toISOString();
  }

  /** A JSON value, parsed already (pg, PGlite) or as text (a transport that leaves json alone). */
  json(key: string): unknown {
    const value = this.row[key];
    if (typeof value !== "string") return value;
    try {
      return JSON.parse(value);
    } catch {
      return this.fail(key, "JSON");
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return "missing";
  if (typeof value === "string") return JSON.stringify(value.slice(0, 80));
  if (value instanceof Date) return `the date ${value.toISOString()}`;
  if (typeof value === "object")
    return value === null ? "null" : Array.isArray(value) ? "an array" : "an object";
  return `${typeof value} ${String(value)}`;
}
