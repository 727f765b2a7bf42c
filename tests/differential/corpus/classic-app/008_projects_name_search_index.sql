-- migrate:up transaction:false
-- Built without blocking writes; dbmate sends a whole section as one query, so one statement.
create index concurrently projects_lower_name_idx on app.projects (lower(name));

-- migrate:down transaction:false
drop index concurrently app.projects_lower_name_idx;
