-- migrate:up
create view app.account_summary as
  select a.slug,
         count(distinct u.id) as users,
         count(distinct p.id) filter (where p.status = 'active') as active_projects
    from app.accounts a
    left join app.users u on u.account_id = a.id
    left join app.projects p on p.account_id = a.id
   group by a.slug;

create function app.account_summary_for(p_slug text)
returns table (slug text, users bigint, active_projects bigint)
language sql stable
begin atomic
  select s.slug, s.users, s.active_projects from app.account_summary s where s.slug = p_slug;
end;

-- migrate:down
drop function app.account_summary_for(text);
drop view app.account_summary;
