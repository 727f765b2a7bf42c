-- migrate:up
create schema staging;

-- migrate:down
drop schema staging;
