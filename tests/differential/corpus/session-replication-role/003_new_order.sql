-- migrate:up
-- Written for a fresh session: the audit trigger fires.
insert into orders (id, total_cents) values (3, 4200);

-- migrate:down
delete from order_audit where order_id = 3;
delete from orders where id = 3;
