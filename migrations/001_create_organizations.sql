-- migrate:up
-- Organizations are the tenant boundary: members, projects, invitations and the audit log all hang
-- off one. This file also brings the updated_at trigger function every later table uses, because
-- organizations is the first table that needs it.

-- Keeps updated_at honest without trusting every writer to remember it. A data migration that must
-- not look like an edit by the user (a backfill, for instance) can set the transaction-local
-- setting platform.preserve_updated_at to on, and its rows keep the timestamp they had.
create function platform.set_updated_at()
returns trigger
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
begin
  if coalesce(current_setting('platform.preserve_updated_at', true), '') <> 'on' then
    new.updated_at := now();
  end if;
  return new;
end;
$$;

create table platform.organizations (
  id uuid primary key default gen_random_uuid(),
  -- Appears in URLs (/org/<slug>), so it is restricted to lowercase URL-safe characters.
  slug text not null unique
    constraint organizations_slug_format check (slug ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
  name text not null
    constraint organizations_name_not_blank check (btrim(name) <> '' and length(name) <= 255),
  billing_email text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

comment on table platform.organizations is 'Tenants of the platform: the unit of membership, billing and project ownership.';

create trigger organizations_set_updated_at
  before update on platform.organizations
  for each row execute function platform.set_updated_at();

-- migrate:down
drop table platform.organizations;
drop function platform.set_updated_at();
