-- migrate:up lock:off
alter table users add column flags text[] not null default '{}';
comment on column users.flags is 'feature flags; e.g. {beta,new-nav}';

-- migrate:down lock:off
alter table users drop column flags;
