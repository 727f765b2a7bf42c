-- migrate:up
-- Kept on purpose when this migration is rolled back: the log is the only record of the
-- one-off import, so the down section is empty and the up section is safe to run again.
create table if not exists public.legacy_import_log (
  id integer primary key,
  source text not null,
  imported_rows integer not null
);

insert into public.legacy_import_log (id, source, imported_rows) values
  (1, 'crm-export-2023.csv', 1204),
  (2, 'billing; legacy', 87)
on conflict (id) do nothing;

-- migrate:down
