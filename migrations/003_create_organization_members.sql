-- migrate:up
-- Who belongs to which organization, and with what role. One row per (organization, user).

-- Creating the foreign keys takes SHARE ROW EXCLUSIVE on organizations and users until commit.
-- Fail fast instead of queueing every writer behind a long-running transaction.
set local lock_timeout = '3s';

create table platform.organization_members (
  -- A membership means nothing without both sides, so it goes when either side goes.
  organization_id uuid not null references platform.organizations (id) on delete cascade,
  user_id uuid not null references platform.users (id) on delete cascade,
  -- Ordered from most to least privileged. A text check rather than an enum type: adding or
  -- retiring a role is then a constraint swap, not an ALTER TYPE that cannot be undone.
  role text not null default 'member'
    constraint organization_members_role_check
      check (role in ('owner', 'admin', 'developer', 'member', 'read_only')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (organization_id, user_id)
);

-- The primary key serves lookups by organization. This one serves the other direction (the
-- organizations of a user, and the cascade when a user is deleted) and, with created_at in it,
-- finding the earliest membership of a user without a sort.
create index organization_members_user_id_created_at_idx
  on platform.organization_members (user_id, created_at, organization_id);

comment on table platform.organization_members is 'Membership of users in organizations, with their role.';

create trigger organization_members_set_updated_at
  before update on platform.organization_members
  for each row execute function platform.set_updated_at();

-- migrate:down
drop table platform.organization_members;
