-- migrate:up
-- Written for a fresh session: owned by the user that runs the migrations.
create table app.settings (
  key text primary key,
  value text not null
);

-- migrate:down
drop table app.settings;
