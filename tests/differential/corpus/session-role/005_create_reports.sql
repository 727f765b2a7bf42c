-- migrate:up
create table app.reports (
  id integer primary key,
  title text not null
);

-- migrate:down
drop table app.reports;
