-- migrate:up
create table vendors (
  id integer primary key,
  name text not null
);

-- migrate:down
drop table vendors;
