-- migrate:up
create table teams (
  id serial primary key,
  name text not null unique
);

create table team_members (
  team_id integer not null references teams (id) on delete cascade,
  user_id integer not null references users (id) on delete cascade,
  role text not null default 'member' check (role in ('owner', 'member')),
  primary key (team_id, user_id)
);

-- migrate:down
drop table team_members;
drop table teams;
