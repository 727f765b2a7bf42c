-- migrate:up
-- Written for a fresh session: "settings" is the table created by the previous migration.
insert into settings (key, value) values ('theme', 'dark');

-- migrate:down
delete from settings where key = 'theme';
