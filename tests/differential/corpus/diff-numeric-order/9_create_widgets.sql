-- migrate:up
create table widgets (
  id integer primary key
);

-- migrate:down
drop table widgets;
