-- migrate:up
-- Created as the writer role, so the writer owns it. SET ROLE, not SET LOCAL ROLE: under dbmate
-- the role stays in force for every later migration of the same run.
set role pg_write_all_data;
create table app.imports (
  id integer primary key,
  source text not null
);

-- migrate:down
drop table app.imports;
