-- migrate:up
update app.projects set status = 'archived' where status = 'paused';

-- migrate:down
update app.projects set status = 'paused' where status = 'archived';
