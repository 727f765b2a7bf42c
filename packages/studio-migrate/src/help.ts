import { type CommandName, USAGE } from "./args.ts";

const TARGETS = `Targets (give one):
  --url <studio url>      A running Studio, through its API: the usual way
                          from a deploy pipeline. Studio applies with its
                          own migrations directory. Needs the secret:
                          MIGRATION_SECRET (or --secret).
  --database-url <url>    The database itself, no Studio needed: the
                          emergency path. Default: DATABASE_URL. Reads the
                          migrations from --migrations-dir.

Target options:
  --secret <secret>       Studio's MIGRATION_SECRET. Prefer the environment
                          variable: a flag shows in the process list.
  --actor <name>          Who is recorded as applying (applied_by and the
                          history). Default: cli:<os user>@<hostname>.
  --migrations-dir <dir>  Direct mode and \`new\`: where the migration
                          (.sql) files are. Default: MIGRATIONS_DIR, else
                          ./migrations (from the current directory).
  --timeout <seconds>     With --url: fail when Studio does not answer, or
                          stops sending a run's progress, for this long
                          (default 15). A long migration still running
                          keeps it alive: Studio sends heartbeats.`;

/** apply's and rollback's limits for one run. */
const RUN_LIMITS = `  --lock-timeout <ms>     How long each statement may wait for a lock
                          (PostgreSQL lock_timeout; 1-600000), this run
                          only. Default: the engine's.
  --statement-timeout <ms>
                          How long each statement may run (PostgreSQL
                          statement_timeout; 1-86400000), this run only.`;

const OTHER_OPTIONS = `Other options:
  --json                  Print one JSON document on stdout instead of text
                          (dates as ISO strings), for failures too.
  -h, --help              Help (global, or for the command given).`;

const EXIT_CODES = `Exit codes:
  0  Success (status: no problems).
  1  Failure, with the reason on stderr: a migration failed; the engine
     refused (checksum drift, out of order, earlier pending, lock busy, not
     found, rollback order, no down section, state conflict); the database
     or Studio could not be reached; the secret is missing or was refused;
     status found problems; lint found an error (apply --strict refused); a
     rehearsed statement failed.
  2  Usage error: unknown command or option, a missing or malformed
     argument, conflicting options. Nothing was attempted.`;

const GLOBAL = `studio-migrate: apply, roll back and inspect the platform database's
schema migrations (the <version>_<name>.sql files in migrations/, in
dbmate's format), tracked in platform.schema_migrations with an audit trail
of every attempt.

Usage: studio-migrate <command> [options]

Commands:
  status                  Every migration (applied, pending) and every
                          problem, with what to do about it.
  apply [name]            Apply all pending migrations, or exactly <name>,
                          or everything up to --to <name>. --dry-run prints
                          the plan and the SQL. --allow-out-of-order.
  rollback <name>         Run the down section of the most recently applied
                          migration. --mark-only records it without SQL.
  rollback --to <name>    Roll back, newest first, everything applied after
  rollback --steps n      <name> (it stays applied), or the newest n.
  baseline --to <name>    Record migrations up to <name> as applied without
                          running them (they were applied by hand).
  resolve <name> --applied | --rolled-back | --accept-checksum
                          Clear a problem after checking the database.
  history                 The audit trail, newest first (--limit, --cursor,
                          --migration).
  new <name>              Create the next-numbered migration file, empty.
  adopt --from dbmate|supabase [--table t]
                          Record what dbmate or the Supabase CLI applied
                          (versions matching local files), without running.
  verify                  Run every migration up, down and up again on a
                          scratch database; name each down section that
                          does not restore the schema exactly.
  lint [name…]            Risky statements in the pending migrations (or
                          the named ones), with the lock each takes and the
                          live size of the table it touches.
  rehearse [--to name]    Run the pending migrations on the target in one
                          transaction, timing each statement and reading
                          its locks, then roll everything back.
  help [command]          This help, or a command's (also <command> --help).

${TARGETS}

${OTHER_OPTIONS}
  --version               Print the version.

Examples:
  export DATABASE_URL=postgres://user:pass@db.internal:5432/platform
  studio-migrate status
  studio-migrate apply --dry-run
  studio-migrate apply --to 008_add_active_org_tracking
  studio-migrate status --url https://studio.example      # MIGRATION_SECRET set
  studio-migrate new add_billing_plans

Environment:
  DATABASE_URL            The database, for the direct mode.
  MIGRATION_SECRET        The secret Studio requires, for --url.
  MIGRATIONS_DIR          The migrations directory (direct mode and new).
  NO_COLOR                Set to turn colours off (they are only ever used
                          when stdout is a terminal).

${EXIT_CODES}

Deploy hook: apply before the new release starts, and fail the deploy when
anything goes wrong. E.g. as the platform's pre-deploy (release) command,
with MIGRATION_SECRET and STUDIO_URL set in the pipeline's secrets:

  npx studio-migrate apply --url "$STUDIO_URL"

A non-zero exit fails the deploy; the reason is on stderr. Applying is
idempotent (applied migrations are skipped) and serialised by a lock, so
several deploys at once are safe. With no Studio to call (first deploy, or
Studio is down), use the database directly:

  DATABASE_URL=... npx studio-migrate apply --migrations-dir migrations

Run studio-migrate help <command> for a command's options and examples.`;

const COMMAND_HELP: Record<Exclude<CommandName, "help">, string> = {
  status: `Every migration known to the files or the database, as a table: its
state (applied, pending, failed, interrupted), when and by whom it was
applied, how long it took, and whether its file still matches what was
applied (checksum). Then every problem (drift, a missing file, a failed or
interrupted migration, out of order, a file that does not load) with what
to do about it, and a summary.

Exits 1 when there are problems, so a pipeline can gate on it.

Examples:
  studio-migrate status --database-url postgres://localhost/platform
  studio-migrate status --url https://studio.example --json`,

  apply: `Applies pending migrations, in order, each in its own transaction (unless
it says transaction:false), under a lock, recording each one.

  (no name)               Every pending migration.
  <name>                  Exactly that one; refused while an earlier one is
                          still pending (use --to).
  --to <name>             Every pending migration up to and including it.
  --dry-run               Print the plan and the exact SQL; change nothing.
  --allow-out-of-order    Also apply a pending migration older than the
                          newest applied one.
  --strict                Lint what would run first, and refuse before
                          anything runs when the lint finds an error (as
                          studio-migrate lint would exit 1); the findings
                          are listed.
${RUN_LIMITS}

Prints a line per migration with its time as each one finishes (through
Studio, as Studio streams the run's progress), then a summary. A failure
stops the run: the failed migration's transaction is rolled back, nothing is
recorded as applied for it, and the rest are not attempted (exit 1).
Applying again when everything is applied does nothing (exit 0).

Examples:
  studio-migrate apply --url https://studio.example
  studio-migrate apply --to 008_add_active_org_tracking --dry-run
  studio-migrate apply 008_add_active_org_tracking --database-url "$DB"`,

  rollback: `Runs the down section of <name> in a transaction and marks it rolled back
(pending again). Only the most recently applied migration can be rolled
back: any other is refused, naming the one to roll back first.

  --to <name>             Instead of <name>: roll back every migration
                          applied after <name>, newest first; <name> stays
                          applied.
  --steps n               Instead of <name>: roll back the newest n.
  --mark-only             Record it (with --to or --steps: every one of
                          them) as rolled back without running SQL (it was
                          undone by hand, or has no down section).
  --dry-run               Print the down SQL; change nothing.
${RUN_LIMITS}

With --to or --steps each migration is its own unit, a line printed as each
finishes, and the run stops at the first failure (those rolled back before
it stay rolled back). It is refused before anything runs when one of them
has drifted, or has no down section (unless --mark-only), or when <name> is
unknown or not applied, or n is more than are applied.

Examples:
  studio-migrate rollback 008_add_active_org_tracking --dry-run
  studio-migrate rollback 008_add_active_org_tracking --mark-only
  studio-migrate rollback --to 005_create_organization_invitations
  studio-migrate rollback --steps 2 --dry-run`,

  baseline: `Records every migration up to and including --to <name> as applied,
without running any of them: for a database whose migrations were applied
by hand before it was tracked. Each is recorded as a baseline event.
Refused while a migration is failed or interrupted (it may have left
partial changes): resolve it first.

Example:
  studio-migrate baseline --to 007_create_audit_logs`,

  resolve: `Clears a problem after an operator has looked at the database. Runs no
SQL; records a resolve event with the actor. Give exactly one of:

  --applied               A failed or interrupted migration was finished by
                          hand, or a migration was applied by hand and never
                          recorded: record it as applied.
  --rolled-back           A failed or interrupted migration was undone by
                          hand: record it as rolled back (pending again).
  --accept-checksum       A drifted migration's edit was cosmetic: record the
                          file's new checksum.

Prints what it changed (before → after).

Examples:
  studio-migrate resolve 009_add_index --applied
  studio-migrate resolve 003_create_organization_members --accept-checksum`,

  history: `The audit trail: every apply, rollback, baseline and resolve attempt,
succeeded or failed, newest first, with who ran it and how long it took.

  --limit <n>             Events per page (1-500, default 50).
  --migration <name>      Only this migration's events.
  --cursor <c>            The next page: the cursor the previous page printed.

Examples:
  studio-migrate history --limit 20
  studio-migrate history --migration 008_add_active_org_tracking`,

  adopt: `Moving from another migration tool: reads the versions it recorded in
the database and records each one that matches a migration file here (by
number: 001 = 1) as applied, without running it, as a baseline event saying
where it came from ("adopted from dbmate ..."). Versions with no file here
are listed, not recorded; migrations already applied here are left as they
are, and one recorded here as rolled back stays so. Refused while a
migration is failed or interrupted (resolve it first). Running it again
changes nothing.

  --from dbmate           dbmate's schema_migrations(version), in the
                          connection's current schema (usually public).
  --from supabase         The Supabase CLI's
                          supabase_migrations.schema_migrations(version).
  --table <t>             Another table, optionally schema-qualified
                          (schema.table): e.g. the one dbmate was given
                          with --migrations-table. Taken as written (case
                          kept, always quoted).

Examples:
  studio-migrate adopt --from dbmate --database-url "$DATABASE_URL"
  studio-migrate adopt --from dbmate --table legacy.schema_migrations
  studio-migrate adopt --from supabase --url https://studio.example`,

  verify: `Checks that every down section undoes its up exactly, without touching
any real database: on a scratch database, each migration in order is run up,
down and up again, and the schema (tables, columns with their types,
defaults and nullability, constraints, indexes, functions with their bodies,
triggers, views, sequences, types, policies, grants, comments) is compared
before the up and after the down, and after the first and second up.

  --migrations-dir <dir>  The migration files. Default: MIGRATIONS_DIR, else
                          ./migrations.
  --scratch-url <url>     An empty throwaway database on a real PostgreSQL
                          server, for migrations PGlite cannot run (e.g. an
                          extension it lacks). Refused unless it is empty;
                          left holding the migrations' schema afterwards.
                          Default: an in-memory PGlite, thrown away.

Each migration is inverse, irreversible (no down section: a warning, its up
is kept for the next ones), NOT INVERSE (the down leaves something behind,
drops too much or changes something), SECOND UP DIFFERS (the up depends on
something its down leaves, such as data) or FAILED (a section failed, with
Postgres' message; the rest are not run). Prints a table and every
difference in full. Exits 1 on any of the last three. DATABASE_URL is never
read: verify cannot run on the platform database.

Examples:
  studio-migrate verify
  studio-migrate verify --migrations-dir db/migrations --json
  studio-migrate verify --scratch-url postgres://localhost/verify_scratch`,

  lint: `Lints the up sections of the pending migrations (or of the migrations
named, applied or not) with PostgreSQL's own parser, and lists each risky
statement: its rule, level, migration and line, the table it touches with
that table's size on the target (estimated rows and bytes, from the
catalog), the lock it takes, and why it matters — with the safe way to do
it. Sessions that hold a conflicting lock on the table right now are named.
A -- lint:ignore <rule> <reason> comment on the line above a statement
accepts it knowingly: it is listed as accepted, not counted.

  [name…]                 Lint these migrations instead of the pending ones.
  --lock-timeout <ms>     The lock_timeout an apply would be given (e.g. with
                          apply --lock-timeout): waits are worded for it.

Reads only. Exits 1 when a finding is an error (apply --strict refuses
then), 0 when there are only warnings or none.

Examples:
  studio-migrate lint --database-url "$DATABASE_URL"
  studio-migrate lint 009_index_user_emails --url https://studio.example
  studio-migrate lint --json`,

  rehearse: `Runs what apply would run — the pending migrations, or those up to --to
<name> — on the target itself, inside ONE transaction, under the engine's
lock and statement timeouts, then rolls it all back: nothing is applied or
recorded, the schema and data are as they were. Each statement is timed by
the database and the locks it took are read from pg_locks: a table of
migration, line, statement, time and locks, so that a statement that locks
a busy table for seconds shows before anyone applies it.

  --to <name>             Rehearse every pending migration up to and
                          including it.
  --allow-out-of-order    Also rehearse a pending migration older than the
                          newest applied one.
${RUN_LIMITS}

A transaction:false migration (e.g. CREATE INDEX CONCURRENTLY) cannot run
inside a transaction that is rolled back: it is listed as not rehearsable,
and the ones after it are rehearsed without its changes. The first statement
that fails ends the rehearsal (exit 1), with Postgres' message. It takes the
migrations lock while it runs, and holds the locks its statements take until
it rolls back; with --url, raise --timeout for a long rehearsal. PostgreSQL
still counts rows a rolled-back statement wrote in pg_stat_user_tables, and
a sequence nextval() advanced stays advanced.

Examples:
  studio-migrate rehearse --database-url "$DATABASE_URL"
  studio-migrate rehearse --to 009_index_user_emails --url https://studio.example
  studio-migrate rehearse --lock-timeout 200 --json`,

  new: `Creates the next-numbered migration file in the migrations directory
(--migrations-dir, else MIGRATIONS_DIR, else ./migrations; created if
missing): one past the highest version there, zero-padded like the others.
<name> goes after the number (give it without one): letters, digits, _, -
and . (no ..), as the loader takes them.

The file has empty up and down sections. Write the up SQL (and a down
section that undoes it) before anything applies it: an up section without
SQL is a no-op migration, so applying the file unedited records it as
applied with nothing run, and SQL written into it afterwards never runs
(the edit shows as checksum drift, which blocks applies).

Example:
  studio-migrate new add_billing_plans
  # Created ./migrations/009_add_billing_plans.sql`,
};

export function helpText(topic: CommandName | null): string {
  if (topic === null || topic === "help") return GLOBAL;
  const needsTarget = topic !== "new" && topic !== "verify";
  return [
    "Usage:",
    `  ${USAGE[topic]}`,
    "",
    COMMAND_HELP[topic],
    ...(needsTarget ? ["", TARGETS] : []),
    "",
    OTHER_OPTIONS,
    "",
    EXIT_CODES,
  ].join("\n");
}

/** The short hint that follows a usage error on stderr. */
export function usageHint(command: CommandName | null): string {
  return command === null || command === "help"
    ? "Usage: studio-migrate <command> [options]\nRun studio-migrate --help for the commands, targets and exit codes."
    : `Usage:\n  ${USAGE[command]}\nRun studio-migrate ${command} --help for details.`;
}
