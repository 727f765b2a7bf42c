-- migrate:up
create table tags (
  id integer primary key,
  label text not null
);
  -- migrate:up
insert into tags (id, label) values (1, 'first');

-- migrate:down
drop table tags;
