-- migrate:up
create table settings (
  key text primary key,
  value text not null
);

-- migrate:down
drop table settings;
