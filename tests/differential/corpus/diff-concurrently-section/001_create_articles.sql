-- migrate:up
create table articles (
  id integer primary key,
  author_id integer not null,
  published_at timestamptz
);

-- migrate:down
drop table articles;
