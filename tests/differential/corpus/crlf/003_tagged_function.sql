-- migrate:up
create function notes.signature(author text) returns text
language sql immutable
as $sig$
  select '--' || chr(13) || chr(10) || author || '
sent from the CRLF file; really'
$sig$;

insert into notes.notes (id, body) values (2, notes.signature('Ops'));

-- migrate:down
delete from notes.notes where id = 2;
drop function notes.signature(text);
