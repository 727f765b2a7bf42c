-- migrate:up
create table customers (
  id integer primary key,
  name text not null
);

-- migrate:down
drop table customers;
