-- migrate:up
-- Copied from a psql script that managed its own transaction.
begin;
create table ledger_entries (
  id integer primary key,
  amount_cents bigint not null
);
commit;

-- migrate:down
drop table ledger_entries;
