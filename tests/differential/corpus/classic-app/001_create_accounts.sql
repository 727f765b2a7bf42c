-- migrate:up
-- Accounts are the tenants; everything else hangs off them.
-- Emails are unique across accounts; slugs are unique too; both are checked by the database.
create schema app;

create table app.accounts (
  id bigint generated always as identity primary key,
  slug text not null unique check (slug ~ '^[a-z0-9-]+$'),
  name text not null,
  plan text not null default 'free',
  created_at timestamptz not null default now()
);

comment on table app.accounts is 'Tenants; one row per customer; never deleted, only closed.';

create table app.users (
  id bigint generated always as identity primary key,
  account_id bigint not null references app.accounts (id) on delete cascade,
  email text not null,
  display_name text,
  is_admin boolean not null default false,
  created_at timestamptz not null default now(),
  constraint users_email_is_lower check (email = lower(email))
);

create unique index users_email_key on app.users (email);
create index users_account_id_idx on app.users (account_id);

-- migrate:down
drop table app.users;
drop table app.accounts;
drop schema app;
