-- migrate:up
-- Written on Windows: every line of this file ends in CRLF, including the ones inside the
-- function body and the string literal below, which must be stored exactly as written.
create schema notes;

create table notes.notes (
  id integer primary key,
  body text not null
);

create function notes.banner() returns text
language plpgsql immutable
as $$
begin
  -- two lines; the line break between them is CRLF
  return 'first line
second line';
end;
$$;

insert into notes.notes (id, body) values (1, 'Dear team,
the deploy is at 10:00; expect -- migrate:down to be tested first.
Thanks');

-- migrate:down
drop function notes.banner();
drop table notes.notes;
drop schema notes;
