-- migrate:up
-- The rest of this migration was exported from a LATIN1 system (ASCII here, as it happens).
set client_encoding = 'LATIN1';
insert into labels (id, label) values (1, 'plain ascii');

-- migrate:down
delete from labels where id = 1;
