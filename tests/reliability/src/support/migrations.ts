import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * The migrations the races and faults run: twelve small ones in a schema of their own (`app`),
 * covering what real migrations do — several statements, data, a function whose body holds
 * semicolons, a trigger, an enum, a view, and one `transaction:false` migration that builds
 * indexes with CREATE INDEX CONCURRENTLY. Every up section also appends its prefix to
 * `app.apply_log`, so a migration whose SQL ran twice shows in the data, whatever the tracking
 * tables say. Every migration has a down section.
 */
export interface MigrationSetOptions {
  /** `select pg_sleep(s)` between the statements of every migration: a wider window for faults. */
  sleepSeconds?: number;
  /** Written into a comment, so each round's files are its own (the schema is the same). */
  round?: number;
}

export interface MigrationFile {
  name: string;
  text: string;
}

const log = (prefix: string) => `insert into app.apply_log (migration) values ('${prefix}');`;

export function migrationSet(options: MigrationSetOptions = {}): MigrationFile[] {
  const pause =
    options.sleepSeconds === undefined ? "" : `select pg_sleep(${options.sleepSeconds});\n`;
  const header = `-- round ${options.round ?? 0}\n`;
  const m = (name: string, up: string, down: string, flags = ""): MigrationFile => ({
    name,
    text: `${header}-- migrate:up${flags}\n${up.replaceAll("\n--pause\n", `\n${pause}`)}\n-- migrate:down${flags}\n${down}\n`,
  });
  return [
    m(
      "001_create_app_schema",
      `create schema app;
--pause
create table app.apply_log (
  id bigint generated always as identity primary key,
  migration text not null,
  at timestamptz not null default clock_timestamp()
);
${log("001")}`,
      "drop schema app cascade;",
    ),
    m(
      "002_create_accounts",
      `create table app.accounts (
  id bigint generated always as identity primary key,
  email text not null,
  created_at timestamptz not null default now()
);
--pause
create unique index accounts_email_key on app.accounts (lower(email));
${log("002")}`,
      "drop table app.accounts;\ndelete from app.apply_log where migration = '002';",
    ),
    m(
      "003_seed_accounts",
      `insert into app.accounts (email)
select 'user' || g || '@example.com' from generate_series(1, 300) g;
--pause
${log("003")}`,
      "delete from app.accounts;\ndelete from app.apply_log where migration = '003';",
    ),
    m(
      "004_create_projects",
      `create table app.projects (
  id bigint generated always as identity primary key,
  account_id bigint not null references app.accounts (id) on delete cascade,
  title text not null check (length(title) between 1 and 200)
);
--pause
insert into app.projects (account_id, title) select id, 'first; project' from app.accounts;
${log("004")}`,
      "drop table app.projects;\ndelete from app.apply_log where migration = '004';",
    ),
    m(
      "005_add_account_plan",
      `alter table app.accounts add column plan text not null default 'free';
--pause
comment on column app.accounts.plan is 'The plan; free unless they pay.';
${log("005")}`,
      "alter table app.accounts drop column plan;\ndelete from app.apply_log where migration = '005';",
    ),
    m(
      "006_create_slugify",
      `create function app.slugify(p text) returns text
language plpgsql immutable as $fn$
begin
  -- a semicolon; inside a body, and a quote ' in a comment
  return trim(both '-' from regexp_replace(lower(p), '[^a-z0-9]+', '-', 'g'));
end;
$fn$;
--pause
${log("006")}`,
      "drop function app.slugify(text);\ndelete from app.apply_log where migration = '006';",
    ),
    m(
      "007_touch_projects",
      `alter table app.projects add column updated_at timestamptz;
create function app.touch() returns trigger language plpgsql as $$
begin
  new.updated_at := now();
  return new;
end
$$;
--pause
create trigger projects_touch before update on app.projects
  for each row execute function app.touch();
${log("007")}`,
      `drop trigger projects_touch on app.projects;
drop function app.touch();
alter table app.projects drop column updated_at;
delete from app.apply_log where migration = '007';`,
    ),
    m(
      "008_index_concurrently",
      `create index concurrently accounts_created_at_idx on app.accounts (created_at);
--pause
${log("008")}
create index concurrently projects_account_id_idx on app.projects (account_id);`,
      `drop index concurrently app.projects_account_id_idx;
drop index concurrently app.accounts_created_at_idx;
delete from app.apply_log where migration = '008';`,
      " transaction:false",
    ),
    m(
      "009_project_state",
      `create type app.project_state as enum ('draft', 'live', 'archived');
--pause
alter table app.projects add column state app.project_state not null default 'draft';
${log("009")}`,
      `alter table app.projects drop column state;
drop type app.project_state;
delete from app.apply_log where migration = '009';`,
    ),
    m(
      "010_live_projects_view",
      `create view app.live_projects as
  select p.id, p.title, a.email from app.projects p join app.accounts a on a.id = p.account_id
  where p.state = 'live';
--pause
${log("010")}`,
      "drop view app.live_projects;\ndelete from app.apply_log where migration = '010';",
    ),
    m(
      "011_odd_names",
      `create table app."Odd; Name" (v text default E'it''s; a \\\\ backslash', "semi;colon" int);
--pause
insert into app."Odd; Name" (v) values ($q$dollar; $$ quoted$q$);
${log("011")}`,
      `drop table app."Odd; Name";\ndelete from app.apply_log where migration = '011';`,
    ),
    m(
      "012_invoices",
      `create sequence app.invoice_seq start 1000;
--pause
comment on table app.accounts is 'Accounts; the people who pay.';
${log("012")}`,
      `comment on table app.accounts is null;
drop sequence app.invoice_seq;
delete from app.apply_log where migration = '012';`,
    ),
  ];
}

export const MIGRATION_NAMES = migrationSet().map((m) => m.name);

const created = new Set<string>();

/** A fresh temporary migrations directory holding `files`. */
export function writeMigrationsDir(files: readonly MigrationFile[], prefix = "migrations"): string {
  const dir = mkdtempSync(join(tmpdir(), `reliability-${prefix}-`));
  created.add(dir);
  for (const file of files) writeFileSync(join(dir, `${file.name}.sql`), file.text);
  return dir;
}

export function removeDir(dir: string): void {
  created.delete(dir);
  rmSync(dir, { recursive: true, force: true });
}

export function removeAllDirs(): void {
  for (const dir of [...created]) removeDir(dir);
}
