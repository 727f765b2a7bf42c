-- migrate:up
-- Written for a fresh session: no other session holds lock 4242 any more.
insert into probes (name, ok) values ('advisory lock 4242 free', pg_try_advisory_xact_lock(4242));

-- migrate:down
delete from probes where name = 'advisory lock 4242 free';
