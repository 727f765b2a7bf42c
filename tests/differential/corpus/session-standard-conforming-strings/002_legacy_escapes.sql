-- migrate:up
-- Data copied from an old dump written with standard_conforming_strings off.
set standard_conforming_strings = off;
insert into file_paths (id, path) values (1, 'C:\\legacy\\export');

-- migrate:down
delete from file_paths where id = 1;
