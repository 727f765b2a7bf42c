-- migrate:up
/*
 * Product analytics events, one partition per year; partitions are created by a DO block
 * so that the range bounds are computed, not typed (typos there are silent; painful).
 */
create table app.events (
  account_id bigint not null,
  occurred_at timestamptz not null,
  kind text not null,
  payload jsonb not null default '{}'::jsonb
) partition by range (occurred_at);

do $$
declare
  y int;
begin
  for y in 2023..2025 loop
    execute format(
      'create table app.events_%s partition of app.events for values from (%L) to (%L)',
      y, make_date(y, 1, 1), make_date(y + 1, 1, 1)
    );
  end loop;
end
$$;

create index events_account_time_idx on app.events (account_id, occurred_at);

-- migrate:down
drop table app.events;
