-- migrate:up
create table file_paths (
  id integer primary key,
  path text not null
);

-- migrate:down
drop table file_paths;
