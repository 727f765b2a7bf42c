-- migrate:up
-- Projects: the databases and services an organization runs. Each is addressed by its ref.

-- Creating the foreign key takes SHARE ROW EXCLUSIVE on organizations until commit.
set local lock_timeout = '3s';

-- A ref is public (it is part of the project hostname) but not a secret, so random() is good
-- enough. 20 lowercase letters gives 26^20 values: collisions are left to the unique constraint.
create function platform.generate_project_ref()
returns text
language sql
volatile
set search_path = pg_catalog, pg_temp
as $$
  select string_agg(chr(97 + floor(random() * 26)::int), '')
  from generate_series(1, 20)
$$;

create table platform.projects (
  id uuid primary key default gen_random_uuid(),
  -- Deleting an organization takes its projects with it. Studio tears down the infrastructure of
  -- each project before it deletes the organization row, so a cascade here only removes metadata
  -- that would otherwise be left pointing at nothing.
  organization_id uuid not null references platform.organizations (id) on delete cascade,
  name text not null
    constraint projects_name_not_blank check (btrim(name) <> '' and length(name) <= 255),
  -- Used as a DNS label (<ref>.example.host), hence the DNS label rules: lowercase letters, digits
  -- and inner hyphens, at most 63 characters.
  ref text not null unique default platform.generate_project_ref()
    constraint projects_ref_format check (ref ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
  region text not null default 'local',
  status text not null default 'coming_up'
    constraint projects_status_check
      check (status in ('coming_up', 'active_healthy', 'active_unhealthy', 'inactive',
                        'paused', 'pausing', 'restoring', 'going_down', 'removed')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

-- Listing the projects of an organization, and the cascade from organizations.
create index projects_organization_id_idx on platform.projects (organization_id);

comment on table platform.projects is 'Projects owned by an organization, addressed by ref.';

create trigger projects_set_updated_at
  before update on platform.projects
  for each row execute function platform.set_updated_at();

-- migrate:down
drop table platform.projects;
drop function platform.generate_project_ref();
