-- migrate:up
create table invoices (
  id integer primary key,
  customer_id integer not null references customers (id)
);
	-- migrate:down
drop table invoices;
