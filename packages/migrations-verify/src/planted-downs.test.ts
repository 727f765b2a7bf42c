import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MigrationVerification, type VerifyReport, verifyMigrations } from "./index.ts";
import {
  migration,
  migrationsOf,
  openTestScratch,
  SCRATCH_KINDS,
  type TestScratch,
} from "./testing/scratches.ts";

/**
 * A directory with one planted mistake per migration (and two correct ones around them), each on
 * objects of its own so that one mistake does not hide or cause another. Verified once per kind
 * of scratch database; each test reads one migration's result.
 */
const PLANTED = {
  "001_create_accounts": migration(
    `create table accounts (id int primary key, name text not null default 'x');
create table audit (id int primary key);
create table settings (key text primary key);`,
    `drop table settings;
drop table audit;
drop table accounts;`,
  ),
  // The down drops the constraint it added, and forgets the column.
  "002_add_account_nickname": migration(
    `alter table accounts add column if not exists nickname text,
  add constraint accounts_nickname_length check (length(nickname) < 40);`,
    `alter table accounts drop constraint accounts_nickname_length;`,
  ),
  // The down drops the view and forgets the function the view calls.
  "003_create_account_totals": migration(
    `create or replace function account_count() returns bigint
language sql stable
as $$
  select count(*)
  from accounts
$$;
create view account_totals as select account_count() as n;`,
    `drop view account_totals;`,
  ),
  // The down "restores" the default by dropping it: 001 had one.
  "004_change_account_name_default": migration(
    `alter table accounts alter column name set default 'unnamed';`,
    `alter table accounts alter column name drop default;`,
  ),
  // The down drops its own table, and one 001 made.
  "005_create_tags": migration(
    `create table tags (id int primary key, label text);`,
    `drop table tags;
drop table audit;`,
  ),
  // Outside a transaction, as a concurrent index build must be; the down forgets one index.
  "006_index_account_names": migration(
    `create index concurrently if not exists accounts_name_idx on accounts (name);
create index concurrently if not exists accounts_lower_name_idx on accounts (lower(name));`,
    `drop index concurrently if exists accounts_name_idx;`,
    { transactional: false },
  ),
  // The down revokes one of the two privileges granted.
  "007_grant_accounts": migration(
    `grant select, insert on accounts to public;`,
    `revoke select on accounts from public;`,
  ),
  // The down is exact, but the up decides what to create from data its down leaves behind.
  "008_create_flags": migration(
    `do $$
begin
  if exists (select from settings where key = 'flags_seeded') then
    create table legacy_flags (id int);
  else
    create table flags (id int);
  end if;
end
$$;
insert into settings values ('flags_seeded') on conflict do nothing;`,
    `drop table if exists flags;
drop table if exists legacy_flags;`,
  ),
  // The down puts back a function body that is not the one 003 wrote.
  "009_count_named_accounts": migration(
    `create or replace function account_count() returns bigint
language sql stable
as $$
  select count(*)
  from accounts
  where name <> ''
$$;`,
    `create or replace function account_count() returns bigint
language sql stable
as $$
  select count(id)
  from accounts
$$;`,
  ),
  // Every kind of object, created and dropped exactly: no difference may be found here.
  "010_create_billing": migration(
    `create schema billing;
comment on schema billing is 'Invoices and plans.';
create type billing.plan_tier as enum ('free', 'pro', 'enterprise');
create domain billing.positive_cents as bigint not null check (value > 0);
create type billing.money_range as range (subtype = numeric);
create type billing.address as (street text, city text);
create sequence billing.invoice_number_seq start 1000 increment 10 cache 5;
create table billing.invoices (
  id bigint generated always as identity primary key,
  number bigint not null default nextval('billing.invoice_number_seq'),
  tier billing.plan_tier not null default 'free',
  amount billing.positive_cents,
  amount_with_tax numeric generated always as (amount * 1.2) stored,
  account_id int references public.accounts (id) on delete cascade,
  billed_to billing.address,
  note text collate "C",
  unique (number) deferrable initially deferred
);
alter sequence billing.invoice_number_seq owned by billing.invoices.number;
comment on table billing.invoices is 'One row per invoice.';
comment on column billing.invoices.tier is 'The plan billed.';
create index invoices_account_idx on billing.invoices (account_id) where account_id is not null;
create unlogged table billing.scratchpad (id int) with (fillfactor = 70);
create function billing.touch() returns trigger language plpgsql
  security definer set search_path = pg_catalog, pg_temp as $$
begin
  return new;
end;
$$;
create trigger invoices_touch before update on billing.invoices
  for each row execute function billing.touch();
alter table billing.invoices disable trigger invoices_touch;
alter table billing.invoices enable row level security;
create policy invoices_by_account on billing.invoices for select to public
  using (account_id is not null);
create view billing.invoice_totals with (security_barrier) as
  select tier, sum(amount) as total from billing.invoices group by tier;
create materialized view billing.invoice_counts as select count(*) as n from billing.invoices
  with no data;
create function billing.tax(p_cents bigint, p_rate numeric default 0.2) returns numeric
  language sql immutable strict parallel safe return p_cents * p_rate;
revoke execute on function billing.tax(bigint, numeric) from public;
grant usage on schema billing to public;
grant select (tier) on billing.invoices to public;
alter default privileges in schema billing grant select on tables to public;
create statistics billing.invoices_tier_account (dependencies) on tier, account_id
  from billing.invoices;`,
    `alter default privileges in schema billing revoke select on tables from public;
drop schema billing cascade;`,
  ),
};

const DOWN_LEFT = "left behind by the down section (not there before the up)";
const DOWN_DROPPED = "dropped by the down section (it was there before the up)";

describe.each(SCRATCH_KINDS)("verify on %s catches planted downs", (kind) => {
  let scratch: TestScratch;
  let report: VerifyReport;
  const seen: string[] = [];
  const result = (name: keyof typeof PLANTED): MigrationVerification => {
    const found = report.results.find((r) => r.migrationName === name);
    if (!found) throw new Error(`no result for ${name}`);
    return found;
  };

  beforeAll(async () => {
    scratch = await openTestScratch(kind);
    report = await verifyMigrations({
      migrations: await migrationsOf(PLANTED),
      scratch: scratch.options,
      onResult: (r) => seen.push(r.migrationName),
    });
  }, 240_000);
  afterAll(() => scratch?.dispose());

  it("verifies every migration, in order, telling about each as it goes, and fails the run", () => {
    expect(report.results.map((r) => [r.migrationName, r.result])).toEqual([
      ["001_create_accounts", "inverse"],
      ["002_add_account_nickname", "not_inverse"],
      ["003_create_account_totals", "not_inverse"],
      ["004_change_account_name_default", "not_inverse"],
      ["005_create_tags", "not_inverse"],
      ["006_index_account_names", "not_inverse"],
      ["007_grant_accounts", "not_inverse"],
      ["008_create_flags", "second_up_differs"],
      ["009_count_named_accounts", "not_inverse"],
      ["010_create_billing", "inverse"],
    ]);
    expect(seen).toEqual(Object.keys(PLANTED));
    expect(report.ok).toBe(false);
    expect(report.notVerified).toEqual([]);
  });

  it("names a column the down leaves behind, and nothing else", () => {
    const { downDifferences, secondUpDifferences } = result("002_add_account_nickname");
    expect(downDifferences).toEqual([
      {
        change: "extra",
        kind: "column",
        identity: "public.accounts.nickname",
        message: `column public.accounts.nickname: ${DOWN_LEFT}`,
      },
    ]);
    expect(secondUpDifferences).toEqual([]);
  });

  it("names a function the down leaves behind, without listing its grants", () => {
    expect(result("003_create_account_totals").downDifferences).toEqual([
      {
        change: "extra",
        kind: "function",
        identity: "public.account_count()",
        message: `function public.account_count(): ${DOWN_LEFT}`,
      },
    ]);
  });

  it("names a default the down changed, from what it was to what the down left", () => {
    expect(result("004_change_account_name_default").downDifferences).toEqual([
      {
        change: "changed",
        kind: "column",
        identity: "public.accounts.name",
        attribute: "default",
        expected: "'x'::text",
        actual: null,
        message: "column public.accounts.name: default 'x'::text → none",
      },
    ]);
  });

  it("names a table the down drops that the up did not make, without listing its columns", () => {
    expect(result("005_create_tags").downDifferences).toEqual([
      {
        change: "missing",
        kind: "table",
        identity: "public.audit",
        message: `table public.audit: ${DOWN_DROPPED}`,
      },
    ]);
  });

  it("names an index a transaction:false down leaves behind", () => {
    expect(result("006_index_account_names").downDifferences).toEqual([
      {
        change: "extra",
        kind: "index",
        identity: "public.accounts_lower_name_idx",
        message: `index public.accounts_lower_name_idx: ${DOWN_LEFT}`,
      },
    ]);
  });

  it("names a privilege the down leaves granted", () => {
    expect(result("007_grant_accounts").downDifferences).toEqual([
      {
        change: "extra",
        kind: "grant",
        identity: "INSERT on table public.accounts to PUBLIC",
        message: `grant INSERT on table public.accounts to PUBLIC: ${DOWN_LEFT}`,
      },
    ]);
  });

  it("names what a second up made differently from the first", async () => {
    const { downDifferences, secondUpDifferences } = result("008_create_flags");
    expect(downDifferences).toEqual([]);
    expect(secondUpDifferences.map((d) => d.message)).toEqual([
      "table public.flags: not made by the second up (the first up made it)",
      "table public.legacy_flags: made by the second up only (the first up did not make it)",
    ]);
    // The scratch database holds what the second up made.
    expect(
      await scratch.query("select to_regclass('public.legacy_flags') is not null as there"),
    ).toEqual([{ there: true }]);
  });

  it("names the line where a function body the down restored differs", () => {
    expect(result("009_count_named_accounts").downDifferences).toEqual([
      {
        change: "changed",
        kind: "function",
        identity: "public.account_count()",
        attribute: "body",
        expected: "\n  select count(*)\n  from accounts\n",
        actual: "\n  select count(id)\n  from accounts\n",
        message:
          'function public.account_count(): body differs at line 2: "select count(*)" → "select count(id)"',
      },
    ]);
  });

  it("finds nothing to say about an exact down over every kind of object", () => {
    const billing = result("010_create_billing");
    expect(billing.downDifferences).toEqual([]);
    expect(billing.secondUpDifferences).toEqual([]);
    expect(billing.failure).toBeNull();
  });
});
