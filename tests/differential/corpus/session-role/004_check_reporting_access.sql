-- migrate:up
-- Checks that the reporting role can read what it needs; leaves the session in that role.
set role pg_read_all_data;
select count(*) from app.settings;

-- migrate:down
