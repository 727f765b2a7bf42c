-- migrate:up
-- Tunes the session for a big copy, then puts every setting back with RESET ALL.
set search_path = staging, public;
set work_mem = '64MB';
create table raw_rows (id integer primary key, line text);
reset all;
create table import_batches (id integer primary key, raw_count integer not null);
insert into import_batches (id, raw_count) select 1, count(*) from staging.raw_rows;

-- migrate:down
drop table public.import_batches;
drop table staging.raw_rows;
