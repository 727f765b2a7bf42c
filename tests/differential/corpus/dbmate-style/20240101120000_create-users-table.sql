-- migrate:up
create table users (
  id serial primary key,
  email varchar(320) not null unique,
  name text,
  created_at timestamp without time zone not null default current_timestamp
);

-- migrate:down
drop table users;
