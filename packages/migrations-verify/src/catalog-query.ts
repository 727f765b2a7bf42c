/**
 * One query that describes a database's user schema as rows of `(kind, identity, parent,
 * attributes)`: every object outside `pg_catalog`, `information_schema`, `pg_toast` and the
 * temporary schemas that no extension owns. It runs unchanged on PostgreSQL 15 and on PGlite
 * (PostgreSQL 17/18 inside).
 *
 * What makes it comparable from one run to the next:
 * - no OIDs, no `attnum` (a column dropped and added back gets a new one: its `position` is its
 *   rank among the live columns), no sequence values, no statistics, nothing about data;
 * - every definition comes from Postgres' own deparsers (`pg_get_constraintdef`,
 *   `pg_get_indexdef`, `pg_get_triggerdef`, `pg_get_viewdef`, `pg_get_expr`, …), which qualify a
 *   name with its schema unless the schema is on the `search_path`: the caller runs the query with
 *   `search_path = pg_catalog, pg_temp`, so every user object comes out qualified, whatever the
 *   session's own setting;
 * - a missing ACL means the object's default privileges, so ACLs are read through `acldefault` —
 *   `GRANT` then `REVOKE` ends where it started even though the catalog now holds an explicit ACL
 *   — and exploded into one `grant` object per privilege and grantee;
 * - lists inside an object are ordered in SQL (collation "C"); the rows themselves are ordered by
 *   the caller.
 *
 * NOT NULL constraints (`contype 'n'`, which PostgreSQL 17+ also keeps in `pg_constraint`) are
 * left to the column's `not null` and the domain's `not null`, so both versions describe a schema
 * alike. PostgreSQL 17 added the `MAINTAIN` privilege: a fingerprint from PGlite holds one grant
 * more per table than one from PostgreSQL 15, which is why fingerprints are only ever compared
 * with fingerprints of the same server.
 */
export const CATALOG_FINGERPRINT_SQL = `
with
nsp as (
  select n.oid, n.nspname, n.nspowner, n.nspacl
    from pg_namespace n
   where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
     and n.nspname not like 'pg\\_temp\\_%'
     and n.nspname not like 'pg\\_toast\\_temp\\_%'
     and not exists (select from pg_depend d
                      where d.classid = 'pg_namespace'::regclass and d.objid = n.oid
                        and d.deptype = 'e')
),
rel as (
  select c.oid, c.relname, c.relkind, c.relowner, c.relacl, n.nspname,
         format('%I.%I', n.nspname, c.relname) as name,
         case c.relkind
           when 'r' then 'table' when 'p' then 'table' when 'f' then 'foreign table'
           when 'v' then 'view' when 'm' then 'materialized view' when 'S' then 'sequence'
         end as kind,
         c.relpersistence, c.reloptions, c.relrowsecurity, c.relforcerowsecurity,
         c.relreplident, c.relispopulated, c.relpartbound, c.relam
    from pg_class c
    join nsp n on n.oid = c.relnamespace
   where c.relkind in ('r', 'p', 'f', 'v', 'm', 'S')
     and not exists (select from pg_depend d
                      where d.classid = 'pg_class'::regclass and d.objid = c.oid
                        and d.deptype = 'e')
),
fn as (
  select p.oid, p.prokind, p.proowner, p.proacl, n.nspname,
         format('%I.%I(%s)', n.nspname, p.proname, oidvectortypes(p.proargtypes)) as name,
         case p.prokind when 'p' then 'procedure' when 'a' then 'aggregate'
                        when 'w' then 'window function' else 'function' end as kind
    from pg_proc p
    join nsp n on n.oid = p.pronamespace
   where not exists (select from pg_depend d
                      where d.classid = 'pg_proc'::regclass and d.objid = p.oid
                        and d.deptype = 'e')
),
typ as (
  select t.oid, t.typtype, t.typowner, t.typacl, t.typrelid, n.nspname,
         format('%I.%I', n.nspname, t.typname) as name,
         case t.typtype when 'e' then 'enum' when 'd' then 'domain' when 'r' then 'range type'
                        when 'c' then 'composite type' else 'base type' end as kind
    from pg_type t
    join nsp n on n.oid = t.typnamespace
   where t.typtype in ('b', 'c', 'd', 'e', 'r')
     -- A table's row type is the table's; only a CREATE TYPE … AS (…) is a type of its own.
     and (t.typrelid = 0 or (select c.relkind from pg_class c where c.oid = t.typrelid) = 'c')
     -- The array type Postgres makes beside every type.
     and not exists (select from pg_type e where e.typarray = t.oid)
     and not exists (select from pg_depend d
                      where d.classid = 'pg_type'::regclass and d.objid = t.oid
                        and d.deptype = 'e')
),
acl_holders as (
  select 'schema' as kind, quote_ident(n.nspname) as name, n.nspowner as owner, n.nspacl as acl,
         'n'::"char" as default_kind
    from nsp n
  union all
  select r.kind, r.name, r.relowner, r.relacl,
         case r.relkind when 'S' then 's' else 'r' end::"char"
    from rel r
  union all
  select f.kind, f.name, f.proowner, f.proacl, 'f'::"char" from fn f
  union all
  select t.kind, t.name, t.typowner, t.typacl, 'T'::"char" from typ t
),
objects (kind, identity, parent, attributes) as (
  select 'schema', quote_ident(n.nspname), null::text,
         jsonb_build_object(
           'owner', pg_get_userbyid(n.nspowner)::text,
           'comment', (select d.description from pg_description d
                        where d.classoid = 'pg_namespace'::regclass and d.objoid = n.oid
                          and d.objsubid = 0))
    from nsp n

  union all
  select 'extension', quote_ident(e.extname), null,
         jsonb_build_object(
           'version', e.extversion,
           'schema', e.extnamespace::regnamespace::text,
           'comment', (select d.description from pg_description d
                        where d.classoid = 'pg_extension'::regclass and d.objoid = e.oid
                          and d.objsubid = 0))
    from pg_extension e

  union all
  select r.kind, r.name, 'schema ' || quote_ident(r.nspname),
         jsonb_build_object(
           'owner', pg_get_userbyid(r.relowner)::text,
           'persistence', case r.relpersistence when 'u' then 'unlogged' when 't' then 'temporary'
                                                else 'permanent' end,
           'options', (select to_jsonb(array_agg(o order by o collate "C"))
                         from unnest(r.reloptions) o),
           'row level security',
             case when r.relkind in ('r', 'p', 'f') then
               case when r.relforcerowsecurity then 'forced'
                    when r.relrowsecurity then 'enabled' else 'disabled' end
             end,
           'replica identity',
             case when r.relkind in ('r', 'p') then
               case r.relreplident when 'd' then 'default' when 'n' then 'nothing'
                                   when 'f' then 'full' when 'i' then 'index' end
             end,
           'access method', (select a.amname::text from pg_am a where a.oid = r.relam),
           'partition key', case when r.relkind = 'p' then pg_get_partkeydef(r.oid) end,
           'partition of', (select format('%I.%I', pn.nspname, pc.relname)
                              from pg_inherits i
                              join pg_class pc on pc.oid = i.inhparent
                              join pg_namespace pn on pn.oid = pc.relnamespace
                             where i.inhrelid = r.oid and r.relpartbound is not null),
           'partition bound', pg_get_expr(r.relpartbound, r.oid),
           'inherits', (select to_jsonb(array_agg(format('%I.%I', pn.nspname, pc.relname)
                                                  order by i.inhseqno))
                          from pg_inherits i
                          join pg_class pc on pc.oid = i.inhparent
                          join pg_namespace pn on pn.oid = pc.relnamespace
                         where i.inhrelid = r.oid and r.relpartbound is null),
           'definition', case when r.relkind in ('v', 'm') then pg_get_viewdef(r.oid) end,
           'populated', case when r.relkind = 'm' then r.relispopulated end,
           'comment', (select d.description from pg_description d
                        where d.classoid = 'pg_class'::regclass and d.objoid = r.oid
                          and d.objsubid = 0))
    from rel r
   where r.relkind <> 'S'

  union all
  select 'sequence', r.name, 'schema ' || quote_ident(r.nspname),
         jsonb_build_object(
           'owner', pg_get_userbyid(r.relowner)::text,
           'persistence', case r.relpersistence when 'u' then 'unlogged' when 't' then 'temporary'
                                                else 'permanent' end,
           'type', format_type(s.seqtypid, null),
           'start', s.seqstart::text,
           'increment', s.seqincrement::text,
           'minimum', s.seqmin::text,
           'maximum', s.seqmax::text,
           'cache', s.seqcache::text,
           'cycle', s.seqcycle,
           -- OWNED BY (deptype 'a') or the sequence of an identity column (deptype 'i').
           'owned by', (select format('%I.%I.%I', oqn.nspname, oc.relname, oa.attname)
                          from pg_depend d
                          join pg_class oc on oc.oid = d.refobjid
                          join pg_namespace oqn on oqn.oid = oc.relnamespace
                          join pg_attribute oa on oa.attrelid = d.refobjid
                                              and oa.attnum = d.refobjsubid
                         where d.classid = 'pg_class'::regclass and d.objid = r.oid
                           and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i')),
           'comment', (select d.description from pg_description d
                        where d.classoid = 'pg_class'::regclass and d.objoid = r.oid
                          and d.objsubid = 0))
    from rel r
    join pg_sequence s on s.seqrelid = r.oid

  union all
  select 'column', format('%s.%I', r.name, a.attname), r.kind || ' ' || r.name,
         jsonb_build_object(
           'position', (row_number() over (partition by a.attrelid order by a.attnum))::text,
           'type', format_type(a.atttypid, a.atttypmod),
           'not null', a.attnotnull,
           'default', case when a.attgenerated = '' then pg_get_expr(ad.adbin, ad.adrelid) end,
           'generated', case when a.attgenerated <> '' then pg_get_expr(ad.adbin, ad.adrelid) end,
           'identity', case a.attidentity when 'a' then 'always' when 'd' then 'by default' end,
           'collation', case when a.attcollation <> t.typcollation then
                          (select format('%I.%I', cn.nspname, co.collname)
                             from pg_collation co
                             join pg_namespace cn on cn.oid = co.collnamespace
                            where co.oid = a.attcollation) end,
           'storage', case when a.attstorage <> t.typstorage then a.attstorage::text end,
           'comment', (select d.description from pg_description d
                        where d.classoid = 'pg_class'::regclass and d.objoid = r.oid
                          and d.objsubid = a.attnum))
    from rel r
    join pg_attribute a on a.attrelid = r.oid and a.attnum > 0 and not a.attisdropped
    join pg_type t on t.oid = a.atttypid
    left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum
   where r.relkind <> 'S'

  union all
  select 'constraint', format('%s.%I', coalesce(r.name, ty.name), co.conname),
         coalesce(r.kind || ' ' || r.name, 'domain ' || ty.name),
         jsonb_build_object(
           'type', case co.contype when 'c' then 'check' when 'f' then 'foreign key'
                                   when 'p' then 'primary key' when 'u' then 'unique'
                                   when 't' then 'trigger' when 'x' then 'exclusion'
                                   else co.contype::text end,
           'definition', pg_get_constraintdef(co.oid),
           'validated', co.convalidated,
           'comment', (select d.description from pg_description d
                        where d.classoid = 'pg_constraint'::regclass and d.objoid = co.oid
                          and d.objsubid = 0))
    from pg_constraint co
    left join rel r on r.oid = co.conrelid
    left join typ ty on ty.oid = co.contypid
   where (r.oid is not null or ty.oid is not null) and co.contype <> 'n'

  union all
  select 'index', format('%I.%I', r.nspname, ic.relname), r.kind || ' ' || r.name,
         jsonb_build_object(
           'definition', pg_get_indexdef(i.indexrelid),
           'valid', i.indisvalid,
           'clustered', i.indisclustered,
           'replica identity', i.indisreplident,
           'options', (select to_jsonb(array_agg(o order by o collate "C"))
                         from unnest(ic.reloptions) o),
           'comment', (select d.description from pg_description d
                        where d.classoid = 'pg_class'::regclass and d.objoid = ic.oid
                          and d.objsubid = 0))
    from pg_index i
    join rel r on r.oid = i.indrelid
    join pg_class ic on ic.oid = i.indexrelid

  union all
  select 'trigger', format('%s.%I', r.name, tg.tgname), r.kind || ' ' || r.name,
         jsonb_build_object(
           'definition', pg_get_triggerdef(tg.oid),
           'enabled', case tg.tgenabled when 'O' then 'origin' when 'D' then 'disabled'
                                        when 'R' then 'replica' when 'A' then 'always' end,
           'comment', (select d.description from pg_description d
                        where d.classoid = 'pg_trigger'::regclass and d.objoid = tg.oid
                          and d.objsubid = 0))
    from pg_trigger tg
    join rel r on r.oid = tg.tgrelid
   where not tg.tgisinternal

  union all
  select 'policy', format('%s.%I', r.name, po.polname), r.kind || ' ' || r.name,
         jsonb_build_object(
           'command', case po.polcmd when 'r' then 'select' when 'a' then 'insert'
                                     when 'w' then 'update' when 'd' then 'delete' else 'all' end,
           'permissive', po.polpermissive,
           'roles', (select to_jsonb(array_agg(x.name order by x.name collate "C"))
                       from (select case when ro = 0 then 'PUBLIC'
                                         else pg_get_userbyid(ro)::text end as name
                               from unnest(po.polroles) ro) x),
           'using', pg_get_expr(po.polqual, po.polrelid),
           'with check', pg_get_expr(po.polwithcheck, po.polrelid),
           'comment', (select d.description from pg_description d
                        where d.classoid = 'pg_policy'::regclass and d.objoid = po.oid
                          and d.objsubid = 0))
    from pg_policy po
    join rel r on r.oid = po.polrelid

  union all
  select 'rule', format('%s.%I', r.name, ru.rulename), r.kind || ' ' || r.name,
         jsonb_build_object(
           'definition', pg_get_ruledef(ru.oid),
           'enabled', case ru.ev_enabled when 'O' then 'origin' when 'D' then 'disabled'
                                         when 'R' then 'replica' when 'A' then 'always' end,
           'comment', (select d.description from pg_description d
                        where d.classoid = 'pg_rewrite'::regclass and d.objoid = ru.oid
                          and d.objsubid = 0))
    from pg_rewrite ru
    join rel r on r.oid = ru.ev_class
   -- A view's own _RETURN rule is its definition, read above.
   where ru.rulename <> '_RETURN'

  union all
  select f.kind, f.name, 'schema ' || quote_ident(f.nspname),
         jsonb_build_object(
           'owner', pg_get_userbyid(f.proowner)::text,
           'arguments', pg_get_function_arguments(f.oid),
           'returns', pg_get_function_result(f.oid),
           'language', (select l.lanname::text from pg_language l where l.oid = p.prolang),
           -- A SQL-standard body (BEGIN ATOMIC …, RETURN …) is parsed and kept in prosqlbody.
           'body', case when p.prosqlbody is not null then pg_get_function_sqlbody(f.oid)
                        else p.prosrc end,
           'volatility', case p.provolatile when 'i' then 'immutable' when 's' then 'stable'
                                            else 'volatile' end,
           'strict', p.proisstrict,
           'security', case when p.prosecdef then 'definer' else 'invoker' end,
           'leakproof', p.proleakproof,
           'parallel', case p.proparallel when 's' then 'safe' when 'r' then 'restricted'
                                          else 'unsafe' end,
           'cost', p.procost::text,
           'rows', p.prorows::text,
           'configuration', to_jsonb(p.proconfig),
           'aggregate', (select format('sfunc %s, stype %s, finalfunc %s, combinefunc %s, initcond %s, kind %s',
                                       ag.aggtransfn::regproc::text,
                                       format_type(ag.aggtranstype, null),
                                       ag.aggfinalfn::regproc::text,
                                       ag.aggcombinefn::regproc::text,
                                       coalesce(ag.agginitval, 'none'), ag.aggkind)
                           from pg_aggregate ag where ag.aggfnoid = f.oid),
           'comment', (select d.description from pg_description d
                        where d.classoid = 'pg_proc'::regclass and d.objoid = f.oid
                          and d.objsubid = 0))
    from fn f
    join pg_proc p on p.oid = f.oid

  union all
  select ty.kind, ty.name, 'schema ' || quote_ident(ty.nspname),
         jsonb_build_object(
           'owner', pg_get_userbyid(ty.typowner)::text,
           'labels', case when ty.typtype = 'e' then
                       (select to_jsonb(array_agg(e.enumlabel::text order by e.enumsortorder))
                          from pg_enum e where e.enumtypid = ty.oid) end,
           'base type', case when ty.typtype = 'd' then format_type(t.typbasetype, t.typtypmod) end,
           'not null', case when ty.typtype = 'd' then t.typnotnull end,
           'default', case when ty.typtype = 'd' then t.typdefault end,
           'attributes', case when ty.typtype = 'c' then
                           (select to_jsonb(array_agg(format('%I %s', a.attname,
                                                             format_type(a.atttypid, a.atttypmod))
                                                      order by a.attnum))
                              from pg_attribute a
                             where a.attrelid = ty.typrelid and a.attnum > 0
                               and not a.attisdropped) end,
           'subtype', case when ty.typtype = 'r' then
                        (select format_type(rg.rngsubtype, null)
                           from pg_range rg where rg.rngtypid = ty.oid) end,
           'comment', (select d.description from pg_description d
                        where d.classoid = 'pg_type'::regclass and d.objoid = ty.oid
                          and d.objsubid = 0))
    from typ ty
    join pg_type t on t.oid = ty.oid

  union all
  select 'grant',
         format('%s on %s %s to %s', x.privilege_type, h.kind, h.name,
                case when x.grantee = 0 then 'PUBLIC' else pg_get_userbyid(x.grantee)::text end),
         h.kind || ' ' || h.name,
         jsonb_build_object('grantor', pg_get_userbyid(x.grantor)::text,
                            'grantable', x.is_grantable)
    from acl_holders h,
         aclexplode(coalesce(h.acl, acldefault(h.default_kind, h.owner))) x

  union all
  -- Column privileges have no defaults: a column without an ACL grants nothing of its own.
  select 'grant',
         format('%s on column %s.%I to %s', x.privilege_type, r.name, a.attname,
                case when x.grantee = 0 then 'PUBLIC' else pg_get_userbyid(x.grantee)::text end),
         'column ' || r.name || '.' || quote_ident(a.attname),
         jsonb_build_object('grantor', pg_get_userbyid(x.grantor)::text,
                            'grantable', x.is_grantable)
    from rel r
    join pg_attribute a on a.attrelid = r.oid and a.attnum > 0 and not a.attisdropped
                       and a.attacl is not null,
         aclexplode(a.attacl) x

  union all
  select 'statistics', format('%I.%I', sn.nspname, st.stxname), r.kind || ' ' || r.name,
         jsonb_build_object(
           'definition', pg_get_statisticsobjdef(st.oid),
           'comment', (select d.description from pg_description d
                        where d.classoid = 'pg_statistic_ext'::regclass and d.objoid = st.oid
                          and d.objsubid = 0))
    from pg_statistic_ext st
    join rel r on r.oid = st.stxrelid
    join pg_namespace sn on sn.oid = st.stxnamespace

  union all
  select 'event trigger', quote_ident(et.evtname), null,
         jsonb_build_object(
           'owner', pg_get_userbyid(et.evtowner)::text,
           'event', et.evtevent::text,
           'function', et.evtfoid::regprocedure::text,
           'enabled', case et.evtenabled when 'O' then 'origin' when 'D' then 'disabled'
                                         when 'R' then 'replica' when 'A' then 'always' end,
           'tags', to_jsonb(et.evttags),
           'comment', (select d.description from pg_description d
                        where d.classoid = 'pg_event_trigger'::regclass and d.objoid = et.oid
                          and d.objsubid = 0))
    from pg_event_trigger et
   where not exists (select from pg_depend d
                      where d.classid = 'pg_event_trigger'::regclass and d.objid = et.oid
                        and d.deptype = 'e')

  union all
  select 'default privileges',
         format('for %s%s on %s', pg_get_userbyid(da.defaclrole),
                case when da.defaclnamespace = 0 then ''
                     else ' in schema ' || da.defaclnamespace::regnamespace::text end,
                case da.defaclobjtype when 'r' then 'tables' when 'S' then 'sequences'
                                      when 'f' then 'functions' when 'T' then 'types'
                                      when 'n' then 'schemas' else da.defaclobjtype::text end),
         null,
         jsonb_build_object(
           'grants', (select to_jsonb(array_agg(g.item order by g.item collate "C"))
                        from (select format('%s to %s%s', x.privilege_type,
                                            case when x.grantee = 0 then 'PUBLIC'
                                                 else pg_get_userbyid(x.grantee)::text end,
                                            case when x.is_grantable then ' with grant option'
                                                 else '' end) as item
                                from aclexplode(da.defaclacl) x) g))
    from pg_default_acl da
)
select kind, identity, parent, attributes from objects`;

/**
 * Run before {@link CATALOG_FINGERPRINT_SQL}, inside the same transaction: the deparsers qualify
 * every user object's name, and a migration's own `search_path` (or a temporary object shadowing
 * a catalog's name) cannot change what the query reads.
 */
export const CATALOG_SEARCH_PATH_SQL = "set local search_path = pg_catalog, pg_temp";
