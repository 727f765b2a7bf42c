-- migrate:up
-- Scratch space for a data fix-up; a temporary table, so nothing is left behind (in a fresh
-- session, that is: under dbmate it lives on for the rest of the run).
create temporary table settings (
  key text primary key,
  value text
);
insert into settings (key, value) values ('locale', 'en-GB');
create table legacy_locale as select value as locale from settings where key = 'locale';

-- migrate:down
drop table legacy_locale;
