-- migrate:up
-- API keys for calling a project from outside Studio. As with invitations only a hash is stored,
-- the short prefix is what the UI shows so a user can tell their keys apart.

-- Creating the foreign keys takes SHARE ROW EXCLUSIVE on projects and users until commit.
set local lock_timeout = '3s';

create table platform.api_keys (
  id uuid primary key default gen_random_uuid(),
  project_id uuid not null references platform.projects (id) on delete cascade,
  name text not null
    constraint api_keys_name_not_blank check (btrim(name) <> '' and length(name) <= 255),
  key_prefix text not null
    constraint api_keys_key_prefix_length check (length(key_prefix) between 4 and 16),
  key_hash text not null unique,
  -- A key outlives the account of whoever created it, and revoking it is an explicit act.
  created_by uuid references platform.users (id) on delete set null,
  created_at timestamptz not null default now(),
  last_used_at timestamptz,
  expires_at timestamptz,
  revoked_at timestamptz,
  constraint api_keys_expiry_after_creation check (expires_at is null or expires_at > created_at)
);

-- Listing the keys of a project, and the cascade from projects.
create index api_keys_project_id_idx on platform.api_keys (project_id);
-- Serves the set null when a user is deleted.
create index api_keys_created_by_idx on platform.api_keys (created_by);

comment on table platform.api_keys is 'Project API keys; only a hash of each key is stored.';

-- migrate:down
drop table platform.api_keys;
