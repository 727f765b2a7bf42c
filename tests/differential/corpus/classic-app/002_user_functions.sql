-- migrate:up
-- Helpers used by the API; SQL where possible, plpgsql where not.

create function app.slugify(value text) returns text
language sql immutable strict
as $$
  select trim(both '-' from regexp_replace(lower(value), '[^a-z0-9]+', '-', 'g'));
$$;

create function app.normalise_user() returns trigger
language plpgsql
as $body$
begin
  -- lower-case the email; a semicolon in a comment; is harmless
  new.email := lower(trim(new.email));
  if new.display_name is null or new.display_name = '' then
    new.display_name := split_part(new.email, '@', 1);
  end if;
  return new;
end;
$body$;

create trigger users_normalise
  before insert or update of email, display_name on app.users
  for each row execute function app.normalise_user();

create function app.undo_hint() returns text
language plpgsql immutable
as $fn$
declare
  hint text := 'to undo, run the section after -- migrate:down; then apply again';
begin
  return hint || ' ($$ and $tag$ stay literal in here; so does -- migrate:up)';
end;
$fn$;

-- migrate:down
drop function app.undo_hint();
drop trigger users_normalise on app.users;
drop function app.normalise_user();
drop function app.slugify(text);
