-- migrate:up
insert into users (email, name, created_at, flags) values
  ('ada@example.test', 'Ada', '2024-01-05 10:00:00', '{beta}'),
  ('grace@example.test', 'Grace', '2024-01-05 10:05:00', '{}');

insert into teams (name) values ('Platform'), ('Growth');

insert into team_members (team_id, user_id, role)
select t.id, u.id, case when u.name = 'Ada' then 'owner' else 'member' end
  from teams t cross join users u
 where t.name = 'Platform';

-- migrate:down
delete from team_members;
delete from teams;
delete from users;
