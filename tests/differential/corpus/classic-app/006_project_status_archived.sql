-- migrate:up
-- Adding an enum value is fine in a transaction on PostgreSQL 12+; the value cannot be used
-- until this transaction commits, so the backfill is the next migration.
alter type app.project_status add value 'archived' after 'active';

-- migrate:down
-- PostgreSQL cannot drop an enum value: rebuild the type without it.
drop view app.active_projects;
alter table app.projects alter column status drop default;
alter type app.project_status rename to project_status_old;
create type app.project_status as enum ('draft', 'active', 'paused');
alter table app.projects
  alter column status type app.project_status using status::text::app.project_status;
alter table app.projects alter column status set default 'draft';
drop type app.project_status_old;
create view app.active_projects as
  select p.id, p.name, a.slug as account_slug
    from app.projects p
    join app.accounts a on a.id = p.account_id
   where p.status = 'active';
comment on view app.active_projects is 'What the dashboard lists; paused; drafts; are hidden';
