-- migrate:up transaction:false
create index concurrently notes_body_idx on notes.notes (md5(body));

-- migrate:down transaction:false
drop index concurrently notes.notes_body_idx;
