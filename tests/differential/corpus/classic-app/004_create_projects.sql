-- migrate:up
create type app.project_status as enum ('draft', 'active', 'paused');

create table app.projects (
  id bigint generated always as identity primary key,
  account_id bigint not null references app.accounts (id) on delete cascade,
  name text not null,
  status app.project_status not null default 'draft',
  settings jsonb not null default '{}'::jsonb,
  constraint projects_name_not_blank check (btrim(name) <> '')
);

/* A project's name is unique within its account; case matters; see the UI. */
create unique index projects_account_name_key on app.projects (account_id, name);

create view app.active_projects as
  select p.id, p.name, a.slug as account_slug
    from app.projects p
    join app.accounts a on a.id = p.account_id
   where p.status = 'active';

comment on view app.active_projects is 'What the dashboard lists; paused; drafts; are hidden';

-- migrate:down
drop view app.active_projects;
drop table app.projects;
drop type app.project_status;
