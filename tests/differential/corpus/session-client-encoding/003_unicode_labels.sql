-- migrate:up
-- Written for a fresh session: this file is UTF-8.
insert into labels (id, label) values (2, 'café ☕ naïve');

-- migrate:down
delete from labels where id = 2;
