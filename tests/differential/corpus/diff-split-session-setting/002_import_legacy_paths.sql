-- migrate:up transaction:false
set standard_conforming_strings = off;
insert into paths (id, path) values (1, 'C:\\temp');

-- migrate:down transaction:false
delete from paths where id = 1;
