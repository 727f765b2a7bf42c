-- migrate:up
insert into countries (code, name) values ('NZ', 'New Zealand'), ('IS', 'Iceland');

-- migrate:down
