-- migrate:up
create table probes (
  name text primary key,
  ok boolean not null
);
-- A prepared statement and a session-level advisory lock, neither released by this migration.
prepare probe_count as select count(*) from probes;
select pg_advisory_lock(4242);

-- migrate:down
drop table probes;
