-- migrate:up
create schema billing;
create table public.invoices (
  id integer primary key,
  issued_at_text text
);

-- migrate:down
drop table public.invoices;
drop schema billing;
