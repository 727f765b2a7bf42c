-- migrate:up
-- Written for a fresh session: standard strings, a backslash is a backslash.
insert into file_paths (id, path) values (2, 'D:\new\table');

-- migrate:down
delete from file_paths where id = 2;
