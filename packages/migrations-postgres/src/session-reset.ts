/**
 * What keeps one migration's session from leaking into the next, and into the engine's own
 * bookkeeping (SPEC §4 *Isolated*). A migration may do to its session whatever SQL allows — `SET`
 * without `LOCAL`, `SET ROLE`, `SET SESSION AUTHORIZATION`, a temp table, `PREPARE`, `LISTEN`, a
 * session advisory lock, `standard_conforming_strings`, `client_encoding` — and on a pooled `pg`
 * connection or PGlite's one connection, the next migration and the bookkeeping would run in that
 * session.
 */

/**
 * Everything `DISCARD ALL` does, as statements that may run inside a transaction block (where
 * `DISCARD ALL` itself may not): it runs after a migration's SQL, in the migration's own
 * transaction, before the bookkeeping — so the row and the event are written as the connecting
 * role, with the configured settings. Like any `SET`, it takes effect for the session when its
 * transaction commits: a unit that commits leaves its connection pristine for the next migration;
 * one that fails, or statements run outside a unit, mark the connection for `DISCARD ALL` before
 * its next use.
 *
 * `role` and `session_authorization` are not reset by `RESET ALL`, hence the first two. The
 * advisory-lock release is a `select` (its result set has a row, but a unit's answer is its last
 * statement's, which comes after). A statement apiece, in this order: a unit tells a failure of
 * its bookkeeping from one of the migration's by the tags of what completed before it
 * (`unit-batch.ts`).
 */
export const RESET_SESSION_STATEMENTS: readonly string[] = [
  "set session authorization default",
  "reset role",
  "reset all",
  "deallocate all",
  "unlisten *",
  "close all",
  "discard plans",
  "discard sequences",
  "discard temp",
  "select pg_catalog.pg_advisory_unlock_all()",
];

export const RESET_SESSION_SQL = RESET_SESSION_STATEMENTS.join(";\n");

/**
 * The same but for the advisory locks: for a bookkeeping unit run on the session of a
 * `transaction:false` section still in progress (PGlite's one connection), whose runner lock must
 * stay held until its outcome is recorded.
 */
export const RESET_SESSION_KEEPING_LOCKS_SQL = RESET_SESSION_SQL.slice(
  0,
  RESET_SESSION_SQL.lastIndexOf(";\n"),
);

/** For a connection outside any transaction: the same, in one statement. */
export const DISCARD_SESSION_SQL = "discard all";
