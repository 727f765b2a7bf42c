-- migrate:up
create schema app;
-- Writers may create objects in app (this grant is local to this database).
grant usage, create on schema app to pg_write_all_data;

-- migrate:down
revoke usage, create on schema app from pg_write_all_data;
drop schema app;
