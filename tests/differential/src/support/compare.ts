import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { getTestServer, withClient } from "@studio/test-postgres";
import { expect } from "vitest";
import { relationExists, value } from "./database.ts";

const run = promisify(execFile);

/**
 * What is excluded from every comparison, on both sides alike, and nothing else: each tool's own
 * bookkeeping. dbmate's is `public.schema_migrations`; the engine's is everything its tracking
 * bootstrap (the same SQL as migrations/000) creates, all of it in schema `platform` (the two
 * tables, their identity sequence, index and append-only triggers, and the trigger function).
 * The corpus never touches `platform` nor a `public.schema_migrations`; {@link snapshot} checks
 * that, so the exclusion cannot hide a difference.
 */
export const EXCLUDED_SCHEMA = "platform";
export const EXCLUDED_TABLE = "public.schema_migrations";
const EXCLUDE_ARGS = [`--exclude-schema=${EXCLUDED_SCHEMA}`, `--exclude-table=${EXCLUDED_TABLE}`];

export interface Comparison {
  /** `pg_dump` (and the fingerprint besides), or the fingerprint alone. */
  method: "pg_dump" | "fingerprint";
  /** pg_dump's own `--restrict-key` flag (15.14+); its `\restrict` line is random otherwise. */
  restrictKey: boolean;
  /** One line for the test output: which comparison, and why. */
  label: string;
}

let chosen: Promise<Comparison> | undefined;

/**
 * pg_dump when it can dump the server (its major version at least the server's), else a catalog
 * fingerprint by SQL. `DIFFERENTIAL_COMPARISON=fingerprint` forces the fallback.
 */
export function chooseComparison(): Promise<Comparison> {
  chosen ??= (async () => {
    const server = await getTestServer();
    const serverMajor = Math.floor(server.versionNum / 10_000);
    const forced = process.env.DIFFERENTIAL_COMPARISON === "fingerprint";
    let dumpVersion: string | null = null;
    let restrictKey = false;
    try {
      const { stdout } = await run("pg_dump", ["--version"]);
      dumpVersion = /(\d+)(?:\.(\d+))?/.exec(stdout)?.[0] ?? null;
      const help = await run("pg_dump", ["--help"]);
      restrictKey = help.stdout.includes("--restrict-key");
    } catch {
      dumpVersion = null;
    }
    const dumpMajor = dumpVersion === null ? null : Number.parseInt(dumpVersion, 10);
    const fingerprintOnly = (why: string): Comparison => ({
      method: "fingerprint",
      restrictKey,
      label: `catalog fingerprint by SQL (${why}; server PostgreSQL ${server.version})`,
    });
    if (forced) return fingerprintOnly("DIFFERENTIAL_COMPARISON=fingerprint");
    if (dumpMajor === null) return fingerprintOnly("no pg_dump on PATH");
    if (dumpMajor < serverMajor) {
      return fingerprintOnly(`pg_dump ${dumpVersion} is older than the server`);
    }
    return {
      method: "pg_dump",
      restrictKey,
      label: `pg_dump ${dumpVersion} --schema-only and --data-only, and the catalog fingerprint (server PostgreSQL ${server.version})`,
    };
  })();
  return chosen;
}

async function pgDump(url: string, section: "--schema-only" | "--data-only"): Promise<string> {
  const comparison = await chooseComparison();
  const args = [section, "--no-password", ...EXCLUDE_ARGS, `--dbname=${url}`];
  // The \restrict key is random per dump unless given: one fixed key for every dump.
  if (comparison.restrictKey) args.push("--restrict-key=differential");
  const { stdout } = await run("pg_dump", args, { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/**
 * The catalog as sorted lines: schemas, relations, columns (type, default, nullability, identity,
 * generation, collation, comment), constraints, indexes (validity too), functions with their whole
 * definition, triggers, views, rules, policies, sequences (with their last value), enum values in
 * order, domains, extensions. Bookkeeping excluded as for pg_dump.
 */
const FINGERPRINT = `
with ns as (
  select n.oid, n.nspname, n.nspowner, n.nspacl from pg_catalog.pg_namespace n
   where n.nspname not in ('pg_catalog', 'information_schema', '${EXCLUDED_SCHEMA}')
     and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
),
rel as (
  select c.oid, c.relname, c.relkind, ns.nspname, c.relowner, c.relacl, c.relpersistence,
         c.reloptions, c.relrowsecurity, c.relispartition, c.relnamespace
    from pg_catalog.pg_class c join ns on ns.oid = c.relnamespace
   where not (ns.nspname || '.' || c.relname = '${EXCLUDED_TABLE}'
              or ns.nspname || '.' || c.relname = '${EXCLUDED_TABLE}_pkey')
),
items as (
  select format('schema %I owner=%s acl=%s comment=%s', ns.nspname, pg_catalog.pg_get_userbyid(ns.nspowner),
                coalesce(ns.nspacl::text, '-'), coalesce(pg_catalog.obj_description(ns.oid, 'pg_namespace'), '-')) as item
    from ns
  union all
  select format('relation %I.%I kind=%s persistence=%s partition=%s owner=%s acl=%s options=%s rls=%s comment=%s',
                nspname, relname, relkind, relpersistence, relispartition, pg_catalog.pg_get_userbyid(relowner),
                coalesce(relacl::text, '-'), coalesce(reloptions::text, '-'), relrowsecurity,
                coalesce(pg_catalog.obj_description(oid, 'pg_class'), '-'))
    from rel
  union all
  select format('column %I.%I #%s %I %s%s%s%s%s collation=%s comment=%s',
                rel.nspname, rel.relname, a.attnum, a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod),
                case when a.attnotnull then ' not null' else '' end,
                coalesce(' default ' || pg_catalog.pg_get_expr(d.adbin, d.adrelid), ''),
                case a.attidentity when 'a' then ' identity always' when 'd' then ' identity by default' else '' end,
                case a.attgenerated when 's' then ' generated stored' else '' end,
                coalesce(a.attcollation::regcollation::text, '-'),
                coalesce(pg_catalog.col_description(rel.oid, a.attnum), '-'))
    from pg_catalog.pg_attribute a join rel on rel.oid = a.attrelid
    left join pg_catalog.pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
   where a.attnum > 0 and not a.attisdropped and rel.relkind in ('r', 'p', 'v', 'm', 'f', 'c')
  union all
  select format('constraint %s %I %s deferrable=%s deferred=%s validated=%s comment=%s',
                coalesce(format('%I.%I', rel.nspname, rel.relname), 'type ' || co.contypid::regtype::text),
                co.conname, pg_catalog.pg_get_constraintdef(co.oid), co.condeferrable, co.condeferred,
                co.convalidated, coalesce(pg_catalog.obj_description(co.oid, 'pg_constraint'), '-'))
    from pg_catalog.pg_constraint co join ns on ns.oid = co.connamespace
    left join rel on rel.oid = co.conrelid
   where co.conrelid = 0 or rel.oid is not null
  union all
  select format('index %s valid=%s ready=%s clustered=%s', pg_catalog.pg_get_indexdef(i.indexrelid),
                i.indisvalid, i.indisready, i.indisclustered)
    from pg_catalog.pg_index i join rel on rel.oid = i.indrelid
  union all
  select format('function %s kind=%s owner=%s acl=%s comment=%s', p.oid::regprocedure, p.prokind,
                pg_catalog.pg_get_userbyid(p.proowner), coalesce(p.proacl::text, '-'),
                coalesce(pg_catalog.obj_description(p.oid, 'pg_proc'), '-'))
         || E'\\n' || case when p.prokind = 'a' then 'aggregate' else pg_catalog.pg_get_functiondef(p.oid) end
    from pg_catalog.pg_proc p join ns on ns.oid = p.pronamespace
  union all
  select format('trigger %I.%I enabled=%s %s', rel.nspname, rel.relname, t.tgenabled,
                pg_catalog.pg_get_triggerdef(t.oid, true))
    from pg_catalog.pg_trigger t join rel on rel.oid = t.tgrelid
   where not t.tgisinternal
  union all
  select format('view %I.%I %s', nspname, relname, pg_catalog.pg_get_viewdef(oid, true))
    from rel where relkind in ('v', 'm')
  union all
  select format('rule %I.%I %s', rel.nspname, rel.relname, pg_catalog.pg_get_ruledef(r.oid, true))
    from pg_catalog.pg_rewrite r join rel on rel.oid = r.ev_class
   where r.rulename <> '_RETURN'
  union all
  select format('policy %I.%I %I %s', rel.nspname, rel.relname, po.polname,
                row(po.polcmd, po.polpermissive, po.polroles::text,
                    pg_catalog.pg_get_expr(po.polqual, po.polrelid),
                    pg_catalog.pg_get_expr(po.polwithcheck, po.polrelid))::text)
    from pg_catalog.pg_policy po join rel on rel.oid = po.polrelid
  union all
  select format('sequence %I.%I type=%s start=%s increment=%s min=%s max=%s cache=%s cycle=%s last_value=%s owned_by=%s',
                rel.nspname, rel.relname, s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmin, s.seqmax,
                s.seqcache, s.seqcycle, coalesce(pg_catalog.pg_sequence_last_value(rel.oid)::text, '-'),
                coalesce((select format('%s.%s', dep.refobjid::regclass, dep.refobjsubid)
                            from pg_catalog.pg_depend dep
                           where dep.classid = 'pg_catalog.pg_class'::regclass and dep.objid = rel.oid
                             and dep.refclassid = 'pg_catalog.pg_class'::regclass and dep.deptype in ('a', 'i')
                           limit 1), '-'))
    from pg_catalog.pg_sequence s join rel on rel.oid = s.seqrelid
  union all
  select format('type %I.%I kind=%s owner=%s labels=%s base=%s notnull=%s default=%s', ns.nspname, t.typname,
                t.typtype, pg_catalog.pg_get_userbyid(t.typowner),
                coalesce((select string_agg(quote_literal(e.enumlabel), ',' order by e.enumsortorder)
                            from pg_catalog.pg_enum e where e.enumtypid = t.oid), '-'),
                case when t.typtype = 'd' then t.typbasetype::regtype::text else '-' end,
                t.typnotnull, coalesce(t.typdefault, '-'))
    from pg_catalog.pg_type t join ns on ns.oid = t.typnamespace
   where t.typtype in ('e', 'd', 'r', 'm')
  union all
  select format('extension %I version=%s schema=%s', x.extname, x.extversion, x.extnamespace::regnamespace)
    from pg_catalog.pg_extension x
)
select item from items order by item collate "C"`;

const TABLES = `
select name from (select format('%I.%I', n.nspname, c.relname) as name
  from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
 where c.relkind = 'r'
   and n.nspname not in ('pg_catalog', 'information_schema', '${EXCLUDED_SCHEMA}')
   and n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
   and format('%s.%s', n.nspname, c.relname) <> '${EXCLUDED_TABLE}') tables
 order by name collate "C"`;

/** The catalog, then every row of every table (ordered), as lines. */
export async function fingerprint(url: string): Promise<string[]> {
  return withClient(url, async (client) => {
    const catalog = (await client.query<{ item: string }>(FINGERPRINT)).rows.map((r) => r.item);
    const tables = (await client.query<{ name: string }>(TABLES)).rows.map((r) => r.name);
    const rows: string[] = [];
    for (const table of tables) {
      const result = await client.query<{ r: string }>(
        `select t::text as r from only ${table} t order by t::text collate "C"`,
      );
      rows.push(`rows ${table} count=${result.rows.length}`);
      for (const row of result.rows) rows.push(`row ${table} ${row.r}`);
    }
    return [...catalog, ...rows];
  });
}

export interface Snapshot {
  /** `pg_dump --schema-only`, when pg_dump is used. */
  schema: string | null;
  /** `pg_dump --data-only`, when pg_dump is used. */
  data: string | null;
  fingerprint: string[];
}

/**
 * Everything a comparison looks at, bookkeeping excluded. First checks that the exclusion hides
 * nothing but bookkeeping: a database migrated by dbmate has no schema `platform`, one migrated by
 * the engine no `public.schema_migrations`.
 */
export async function snapshot(url: string, tool: "dbmate" | "engine"): Promise<Snapshot> {
  if (tool === "dbmate") {
    const platform = await value<boolean>(
      url,
      `select exists (select 1 from pg_catalog.pg_namespace where nspname = '${EXCLUDED_SCHEMA}')`,
    );
    if (platform)
      throw new Error(
        `dbmate's database has a schema ${EXCLUDED_SCHEMA}: the corpus must not use it`,
      );
  } else if (await relationExists(url, EXCLUDED_TABLE)) {
    throw new Error(`the engine's database has ${EXCLUDED_TABLE}: the corpus must not create it`);
  }
  const comparison = await chooseComparison();
  const [schema, data, lines] = await Promise.all([
    comparison.method === "pg_dump" ? pgDump(url, "--schema-only") : null,
    comparison.method === "pg_dump" ? pgDump(url, "--data-only") : null,
    fingerprint(url),
  ]);
  return { schema, data, fingerprint: lines };
}

/** The lines only one side has, for messages and for printing a difference. */
export function lineDiff(a: string[], b: string[]): { onlyA: string[]; onlyB: string[] } {
  const count = (lines: string[]) => {
    const m = new Map<string, number>();
    for (const l of lines) m.set(l, (m.get(l) ?? 0) + 1);
    return m;
  };
  const ca = count(a);
  const cb = count(b);
  const onlyA: string[] = [];
  const onlyB: string[] = [];
  for (const [line, n] of ca) for (let i = cb.get(line) ?? 0; i < n; i++) onlyA.push(line);
  for (const [line, n] of cb) for (let i = ca.get(line) ?? 0; i < n; i++) onlyB.push(line);
  return { onlyA, onlyB };
}

/**
 * Asserts that two databases hold the same schema and data: the pg_dump texts byte for byte (when
 * pg_dump is used) and the fingerprint line for line.
 */
export function expectSame(a: Snapshot, b: Snapshot, what: string): void {
  const { onlyA, onlyB } = lineDiff(a.fingerprint, b.fingerprint);
  expect(
    { onlyInFirst: onlyA, onlyInSecond: onlyB },
    `${what}: catalog fingerprints differ`,
  ).toEqual({ onlyInFirst: [], onlyInSecond: [] });
  expect(b.schema, `${what}: pg_dump --schema-only differs`).toBe(a.schema);
  expect(b.data, `${what}: pg_dump --data-only differs`).toBe(a.data);
}
