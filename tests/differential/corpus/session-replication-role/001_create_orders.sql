-- migrate:up
create table orders (
  id integer primary key,
  total_cents integer not null
);

create table order_audit (
  order_id integer not null,
  note text not null
);

create function record_order() returns trigger
language plpgsql
as $$
begin
  insert into order_audit (order_id, note) values (new.id, 'created; total ' || new.total_cents);
  return new;
end;
$$;

create trigger orders_audit after insert on orders
  for each row execute function record_order();

-- migrate:down
drop table orders;
drop table order_audit;
drop function record_order();
