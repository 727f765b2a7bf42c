-- migrate:up
create table import_errors (
  batch_id integer not null references import_batches (id),
  message text not null
);
insert into import_errors (batch_id, message) values (1, 'none; all rows loaded');

-- migrate:down
drop table import_errors;
