-- migrate:up
alter table users add column last_seen_at timestamp without time zone;
create index users_last_seen_at_idx on users (last_seen_at desc nulls last);

-- migrate:down
drop index users_last_seen_at_idx;
alter table users drop column last_seen_at;
