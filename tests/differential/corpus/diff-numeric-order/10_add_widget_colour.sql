-- migrate:up
alter table widgets add column colour text not null default 'blue';

-- migrate:down
alter table widgets drop column colour;
