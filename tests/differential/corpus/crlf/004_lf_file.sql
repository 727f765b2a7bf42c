-- migrate:up
alter table notes.notes add column pinned boolean not null default false;
update notes.notes set pinned = true where id = 1;

-- migrate:down
alter table notes.notes drop column pinned;
