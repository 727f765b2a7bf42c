-- migrate:up
-- Pending invitations to join an organization. Accepting one creates the organization_members row
-- and stamps accepted_at. The invitation token itself is never stored, only its hash, so a leak of
-- this table does not let anyone join anything.

-- Creating the foreign keys takes SHARE ROW EXCLUSIVE on organizations and users until commit.
set local lock_timeout = '3s';

create table platform.organization_invitations (
  id uuid primary key default gen_random_uuid(),
  organization_id uuid not null references platform.organizations (id) on delete cascade,
  email text not null
    constraint organization_invitations_email_format check (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
  -- Ownership is transferred deliberately by an existing owner, never handed out by invitation.
  role text not null default 'member'
    constraint organization_invitations_role_check
      check (role in ('admin', 'developer', 'member', 'read_only')),
  token_hash text not null unique,
  -- The invitation stays valid if the person who sent it leaves.
  invited_by uuid references platform.users (id) on delete set null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null default now() + interval '7 days',
  accepted_at timestamptz,
  constraint organization_invitations_expiry_after_creation check (expires_at > created_at)
);

-- At most one open invitation per address and organization: inviting again renews the existing
-- one instead of sending a second live token.
create unique index organization_invitations_open_email_key
  on platform.organization_invitations (organization_id, lower(email))
  where accepted_at is null;

-- Serves the set null when a user is deleted.
create index organization_invitations_invited_by_idx
  on platform.organization_invitations (invited_by);

comment on table platform.organization_invitations is 'Invitations to join an organization; tokens are stored hashed.';

-- migrate:down
drop table platform.organization_invitations;
