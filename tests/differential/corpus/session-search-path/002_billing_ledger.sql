-- migrate:up
-- Works on the billing schema for the rest of this migration. Note: SET, not SET LOCAL, so
-- under dbmate it stays in force for every later migration of the same run.
set search_path = billing, public;
set timezone = 'Asia/Tokyo';
create table ledger (
  id integer primary key,
  amount_cents bigint not null
);

-- migrate:down
drop table billing.ledger;
