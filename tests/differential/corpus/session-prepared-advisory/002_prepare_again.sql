-- migrate:up
-- Written for a fresh session: the name is free.
prepare probe_count as select 1;
insert into probes (name, ok) values ('prepared name free', true);

-- migrate:down
delete from probes where name = 'prepared name free';
