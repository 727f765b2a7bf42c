-- migrate:up
-- Seed data for every environment: the internal account and its admins.
insert into app.accounts (slug, name, plan, created_at) values
  ('internal', 'Internal; do not bill', 'enterprise', '2024-01-01 00:00:00+00'),
  ('acme', 'Acme Café ☕', 'team', '2024-01-02 09:30:00+00'),
  ('o-brien', 'O''Brien & Sons', 'free', '2024-01-03 12:00:00+00');

-- The trigger lower-cases these and fills in display names.
insert into app.users (account_id, email, display_name, is_admin, created_at)
select a.id, u.email, u.display_name, u.is_admin, '2024-01-04 08:00:00+00'
  from (values
    ('internal', '  Admin@Example.COM ', null, true),
    ('acme', 'ops@acme.test', 'Ops; on call', false),
    ('o-brien', 'Shane@OBrien.test', '', false)
  ) as u(slug, email, display_name, is_admin)
  join app.accounts a on a.slug = u.slug;

insert into app.projects (account_id, name, status, settings)
select a.id, p.name, p.status::app.project_status, p.settings::jsonb
  from (values
    ('internal', 'Billing', 'active', '{"retention_days": 30}'),
    ('internal', 'Legacy import', 'paused', '{}'),
    ('acme', 'Website', 'active', $json${"note": "it's \"quoted\"; fine", "tags": ["a", "b"]}$json$),
    ('acme', 'E''scape', 'draft', E'{"path": "C:\\\\temp\\\\x", "tab": "a\\tb"}')
  ) as p(slug, name, status, settings)
  join app.accounts a on a.slug = p.slug;

insert into app.events (account_id, occurred_at, kind, payload)
select a.id, e.at, e.kind, e.payload::jsonb
  from (values
    ('acme', timestamptz '2023-06-01 10:00:00+00', 'signup', '{}'),
    ('acme', timestamptz '2024-02-29 23:59:59+00', 'upgrade', '{"to": "team"}'),
    ('internal', timestamptz '2025-12-31 00:00:00+00', 'audit', '{"ok": true}')
  ) as e(slug, at, kind, payload)
  join app.accounts a on a.slug = e.slug;

-- migrate:down
delete from app.events;
delete from app.projects;
delete from app.users;
delete from app.accounts;
