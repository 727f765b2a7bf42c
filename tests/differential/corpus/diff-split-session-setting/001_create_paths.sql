-- migrate:up
create table paths (
  id integer primary key,
  path text not null
);

-- migrate:down
drop table paths;
