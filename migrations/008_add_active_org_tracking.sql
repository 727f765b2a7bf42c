-- migrate:up transaction:false
-- Remembers which organization each user last worked in (platform.users.active_org_id), with
-- helpers to set it (only to an organization the user belongs to) and read it, and a backfill that
-- points every existing user at the organization of their earliest membership.
--
-- Why this file looks the way it does
--
-- platform.users is large (around a million rows) and written to all the time, and no writer may
-- stall for as long as a second. One transaction doing ADD COLUMN ... REFERENCES, CREATE INDEX and
-- an UPDATE of every row would hold ACCESS EXCLUSIVE on users for the whole run: every writer and
-- reader would wait minutes. So the file runs outside a transaction (transaction:false), each
-- statement commits on its own, and each takes the weakest lock that does its job:
--
--   1. add column + foreign key NOT VALID: ACCESS EXCLUSIVE on users and SHARE ROW EXCLUSIVE on
--      organizations, for microseconds (a nullable column without a default is a catalog change
--      only, and NOT VALID skips the scan). The risk is the wait, not the hold: a lock request
--      queued behind a long transaction makes every later writer queue behind it. So the request
--      gives up after 200ms (lock_timeout), backs off, and tries again, up to 40 times.
--   2. validate the foreign key: SHARE UPDATE EXCLUSIVE on users and ROW SHARE on organizations
--      while it scans. Neither conflicts with INSERT, UPDATE or DELETE, so writers carry on.
--   3. the functions: catalog only, no lock on any table.
--   4. the backfill, in batches of 2000 users, each committed before the next: row locks on at
--      most one batch at a time, held for the tens of milliseconds one batch takes, never to the
--      end. A row held by a writer is waited on for at most 200ms, then the batch is retried.
--   5. the index, built CONCURRENTLY: SHARE UPDATE EXCLUSIVE, writers carry on. It waits for
--      transactions older than itself, which only delays this migration. It comes after the
--      backfill on purpose: built first, every backfilled row would also be an insertion into it,
--      and the planner, with no statistics on the new column, would use it for the batches
--      (active_org_id is null) and read all of its null entries each time. Until it exists, an
--      organization deletion finds the users to clear with a scan, for the minute or so the
--      backfill takes.
--
-- A non-transactional migration that fails halfway is re-run once an operator has resolved it,
-- so every statement here is safe to run again: IF NOT EXISTS, catalog checks, CREATE OR REPLACE,
-- and a backfill that only fills what is still empty.
--
-- The engine sends each statement on its own, so no statement relies on session state left by
-- another. Timeouts are set inside each block with set_config(..., true), which ends with that
-- block, so nothing leaks into the session that runs the next migration.

-- 1. The column and its foreign key, in one short ACCESS EXCLUSIVE hold.
do $$
declare
  v_attempt integer := 0;
begin
  perform pg_catalog.set_config('lock_timeout', '200ms', true);
  loop
    begin
      alter table platform.users add column if not exists active_org_id uuid;

      if not exists (
        select 1 from pg_catalog.pg_constraint
        where conrelid = 'platform.users'::regclass
          and conname = 'users_active_org_id_fkey'
      ) then
        -- NOT VALID: enforced for every new write from now on, existing rows checked in step 2.
        alter table platform.users
          add constraint users_active_org_id_fkey
          foreign key (active_org_id) references platform.organizations (id)
          on delete set null
          not valid;
      end if;

      comment on column platform.users.active_org_id is
        'Organization the user last worked in. Set it with platform.set_active_org, read it with platform.get_active_org.';
      exit;
    exception when lock_not_available then
      -- The failed attempt is rolled back to its savepoint, so no lock is kept while waiting.
      v_attempt := v_attempt + 1;
      if v_attempt >= 40 then
        raise;
      end if;
      perform pg_catalog.pg_sleep(least(2.0, 0.1 * v_attempt) + random() * 0.2);
    end;
  end loop;
end;
$$;

-- 2. Check the rows that existed before the constraint did. A no-op once validated.
alter table platform.users validate constraint users_active_org_id_fkey;

-- 3. Helpers.
--
-- Both are SECURITY INVOKER (the default) on purpose. They add a rule (only an organization the
-- user belongs to) on top of the privileges of the caller, they do not grant any: a SECURITY
-- DEFINER set_active_org would let every role with USAGE on the schema move any user into any
-- organization that user belongs to, without UPDATE on platform.users. The search_path is pinned
-- anyway so that what the names resolve to never depends on the session of the caller.

create or replace function platform.set_active_org(p_user_id uuid, p_org_id uuid)
returns void
language plpgsql
volatile
set search_path = pg_catalog, pg_temp
as $$
begin
  -- FOR KEY SHARE keeps the membership from being deleted between this check and the commit, so
  -- the user cannot end up pointing at an organization they just left.
  perform 1
  from platform.organization_members m
  where m.user_id = p_user_id
    and m.organization_id = p_org_id
  for key share;

  if not found then
    raise exception 'user % is not a member of organization %', p_user_id, p_org_id
      using errcode = '42501',
            hint = 'Only an organization the user belongs to can be their active organization.';
  end if;

  update platform.users
  set active_org_id = p_org_id
  where id = p_user_id;
end;
$$;

comment on function platform.set_active_org(uuid, uuid) is
  'Sets the active organization of a user. Raises SQLSTATE 42501 unless the user is a member of it.';

-- Returns null, not a stale id, when the user has since left that organization: callers use the
-- answer as the tenant context, and a former member must not get one.
create or replace function platform.get_active_org(p_user_id uuid)
returns uuid
language sql
stable
set search_path = pg_catalog, pg_temp
as $$
  select u.active_org_id
  from platform.users u
  join platform.organization_members m
    on m.user_id = u.id
   and m.organization_id = u.active_org_id
  where u.id = p_user_id
$$;

comment on function platform.get_active_org(uuid) is
  'Active organization of a user, or null when none is set or the user is no longer a member of it.';

-- 4. Backfill. Each user without an active organization gets the organization of their earliest
-- membership (earliest created_at, ties broken by the lower organization id so that a re-run gives
-- the same answer). Users without memberships stay null.
--
-- Walks users in primary key order, 2000 at a time, and COMMITs after each batch (allowed because
-- this DO is not inside a transaction block). Row locks therefore last one batch, not the run.
-- If a user row is held by a concurrent writer, the UPDATE waits at most 200ms for it (while
-- holding the rows of this batch it already changed), then the batch is rolled back and retried
-- after a pause. That bounds what a writer can wait on this backfill, and it also breaks a
-- deadlock with a writer long before the deadlock detector would (deadlock_timeout, 1s). When the
-- UPDATE does get the row, it re-checks active_org_id is null, so a choice made meanwhile through
-- set_active_org is never overwritten.
-- platform.preserve_updated_at keeps updated_at as it was: a backfill is not an edit by the user,
-- and the down section can then restore the table exactly. Both settings are transaction-local,
-- so they are set again after every COMMIT.
do $$
declare
  v_batch_size constant integer := 2000;
  v_last_id uuid := '00000000-0000-0000-0000-000000000000';
  v_batch_end uuid;
  v_attempt integer := 0;
  v_done boolean;
begin
  loop
    -- The last id of the next window (uuid has no max aggregate). No row leaves it null.
    select w.id into v_batch_end
    from (
      select u.id
      from platform.users u
      where u.id > v_last_id
      order by u.id
      limit v_batch_size
    ) w
    order by w.id desc
    limit 1;
    exit when v_batch_end is null;

    v_done := false;
    begin
      perform pg_catalog.set_config('lock_timeout', '200ms', true);
      perform pg_catalog.set_config('platform.preserve_updated_at', 'on', true);

      -- Per-user probes of organization_members_user_id_created_at_idx, not a join of the batch
      -- against a sorted subquery: plpgsql runs this with a generic plan, and on a join the
      -- planner can misjudge the batch as one row and pick a nested loop that is quadratic in
      -- the batch size. This shape stays linear whatever the statistics say.
      update platform.users u
      set active_org_id = (
        select m.organization_id
        from platform.organization_members m
        where m.user_id = u.id
        order by m.created_at, m.organization_id
        limit 1
      )
      where u.id > v_last_id
        and u.id <= v_batch_end
        and u.active_org_id is null
        and exists (select 1 from platform.organization_members m where m.user_id = u.id);

      v_done := true;
    exception when lock_not_available then
      v_attempt := v_attempt + 1;
      if v_attempt >= 50 then
        raise;
      end if;
    end;

    if v_done then
      v_last_id := v_batch_end;
      v_attempt := 0;
      commit;
    else
      -- Nothing of this batch was kept, so nothing is held while pausing.
      rollback;
      perform pg_catalog.pg_sleep(0.2 + random() * 0.3);
    end if;
  end loop;
end;
$$;

-- 5a. An interrupted CREATE INDEX CONCURRENTLY leaves an INVALID index behind, which IF NOT EXISTS
-- would then happily skip. Drop such a leftover first. This needs a plain DROP INDEX (DROP INDEX
-- CONCURRENTLY cannot run in a block), so the same short, retried ACCESS EXCLUSIVE as step 1.
do $$
declare
  v_attempt integer := 0;
begin
  perform pg_catalog.set_config('lock_timeout', '200ms', true);
  loop
    begin
      if exists (
        select 1 from pg_catalog.pg_index
        where indexrelid = to_regclass('platform.users_active_org_id_idx')
          and not indisvalid
      ) then
        drop index platform.users_active_org_id_idx;
      end if;
      exit;
    exception when lock_not_available then
      v_attempt := v_attempt + 1;
      if v_attempt >= 40 then
        raise;
      end if;
      perform pg_catalog.pg_sleep(least(2.0, 0.1 * v_attempt) + random() * 0.2);
    end;
  end loop;
end;
$$;

-- 5b. Serves ON DELETE SET NULL: deleting an organization finds its active users without scanning
-- a million rows. A plain (not partial) index, so the column is indexed for every query shape.
create index concurrently if not exists users_active_org_id_idx
  on platform.users (active_org_id);

-- migrate:down
-- Runs under the same transaction:false flag as the up section, but is written to be correct
-- inside a transaction too: no CONCURRENTLY, nothing that needs its own transaction. Dropping the
-- index, the constraint and the column is a catalog change (the column space is reclaimed later
-- by normal writes), so the one ACCESS EXCLUSIVE on users is held for microseconds, and the
-- request is retried with a short lock_timeout for the same reason as in step 1 above. Every
-- statement is guarded, so an interrupted down can be run again.

drop function if exists platform.get_active_org(uuid);

drop function if exists platform.set_active_org(uuid, uuid);

do $$
declare
  v_attempt integer := 0;
begin
  perform pg_catalog.set_config('lock_timeout', '200ms', true);
  loop
    begin
      drop index if exists platform.users_active_org_id_idx;
      alter table platform.users drop constraint if exists users_active_org_id_fkey;
      alter table platform.users drop column if exists active_org_id;
      exit;
    exception when lock_not_available then
      v_attempt := v_attempt + 1;
      if v_attempt >= 40 then
        raise;
      end if;
      perform pg_catalog.pg_sleep(least(2.0, 0.1 * v_attempt) + random() * 0.2);
    end;
  end loop;
end;
$$;
