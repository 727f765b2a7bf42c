-- migrate:up
-- Written for a fresh session: unqualified names mean public.
create table invoice_lines (
  invoice_id integer not null references invoices (id),
  line_no integer not null,
  primary key (invoice_id, line_no)
);

insert into invoices (id, issued_at_text)
values (1, (timestamptz '2024-03-01 00:00:00+00')::text);

-- migrate:down
delete from invoices where id = 1;
drop table invoice_lines;
