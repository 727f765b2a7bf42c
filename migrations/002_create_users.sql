-- migrate:up
-- Platform users: the people who sign in to Studio. Authentication lives elsewhere, this is the
-- account record organizations and projects refer to.

create table platform.users (
  id uuid primary key default gen_random_uuid(),
  email text not null unique
    constraint users_email_format check (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
  display_name text,
  last_sign_in_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Mail providers treat the local part case-insensitively in practice, so Alice@x and alice@x must
-- not become two accounts. The plain unique constraint above stays for exact-match lookups and for
-- the contract (email text unique), this index is what actually prevents the duplicate.
create unique index users_email_lower_key on platform.users (lower(email));

comment on table platform.users is 'Accounts that sign in to Studio; members of organizations.';

create trigger users_set_updated_at
  before update on platform.users
  for each row execute function platform.set_updated_at();

-- migrate:down
drop table platform.users;
