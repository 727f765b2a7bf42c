-- migrate:up
-- What people did inside an organization (invited a member, created a project, rotated a key),
-- shown to its owners and admins. Not to be confused with schema_migration_events, which audits
-- the schema itself.

-- Creating the foreign keys takes SHARE ROW EXCLUSIVE on organizations, projects and users until
-- commit.
set local lock_timeout = '3s';

create table platform.audit_logs (
  -- An identity key: cheap to insert at volume, and its order is the order of recording.
  id bigint generated always as identity primary key,
  -- The log belongs to the organization and is deleted with it.
  organization_id uuid not null references platform.organizations (id) on delete cascade,
  -- Entries must survive the deletion of the project or user they mention, so those references
  -- are cleared rather than cascaded, and actor_email keeps who it was.
  project_id uuid references platform.projects (id) on delete set null,
  actor_id uuid references platform.users (id) on delete set null,
  actor_email text,
  action text not null
    constraint audit_logs_action_format check (action ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'),
  target_type text,
  target_id text,
  metadata jsonb not null default '{}'::jsonb,
  ip_address inet,
  occurred_at timestamptz not null default now()
);

-- The one read that matters: the latest entries of an organization, newest first. It also serves
-- the cascade from organizations.
create index audit_logs_organization_id_occurred_at_idx
  on platform.audit_logs (organization_id, occurred_at desc);
-- Serve the set null when a project or user is deleted, and per-project or per-actor filters.
create index audit_logs_project_id_idx on platform.audit_logs (project_id);
create index audit_logs_actor_id_idx on platform.audit_logs (actor_id);

comment on table platform.audit_logs is 'Actions taken within an organization, for its owners and admins.';

-- migrate:down
drop table platform.audit_logs;
