-- migrate:up
create table labels (
  id integer primary key,
  label text not null
);

-- migrate:down
drop table labels;
