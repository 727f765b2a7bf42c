-- migrate:up transaction:false
create index concurrently articles_author_idx on articles (author_id);
create index concurrently articles_published_idx on articles (published_at);

-- migrate:down transaction:false
drop index concurrently articles_published_idx;
drop index concurrently articles_author_idx;
