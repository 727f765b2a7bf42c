import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/**
 * The migration corpus: N small, realistic migrations — tables with a primary key, defaults and
 * an index; more indexes; added columns with comments; PL/pgSQL functions; views; check
 * constraints; a few data inserts and updates — each written in every tool's own file format.
 * The SQL is the same for every tool; only the wrapping differs.
 */

export interface CorpusMigration {
  /** 1-based position. */
  readonly index: number;
  /** The zero-padded number, e.g. `0042`. */
  readonly number: string;
  /** snake_case, without the number, e.g. `create_item_42`. */
  readonly slug: string;
  readonly up: string;
  readonly down: string;
}

export interface Corpus {
  readonly n: number;
  readonly migrations: readonly CorpusMigration[];
  /** How many `item_*` tables the corpus creates: checked after every run. */
  readonly tables: number;
}

export function generateCorpus(n: number): Corpus {
  const width = Math.max(4, String(n).length);
  const tables: string[] = [];
  const migrations: CorpusMigration[] = [];
  for (let i = 1; i <= n; i++) {
    const kind = i % 10;
    // An earlier table, spread over all of them.
    const earlier = tables.length > 0 ? tables[(i * 7) % tables.length] : undefined;
    let slug: string;
    let up: string;
    let down: string;
    if (earlier === undefined || kind === 1 || kind === 2 || kind === 6) {
      const table = `item_${i}`;
      tables.push(table);
      slug = `create_${table}`;
      up = [
        `CREATE TABLE ${table} (`,
        "  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,",
        "  name text NOT NULL,",
        "  status text NOT NULL DEFAULT 'new',",
        "  amount numeric(12, 2),",
        "  created_at timestamptz NOT NULL DEFAULT now()",
        ");",
        `CREATE INDEX ${table}_created_at_idx ON ${table} (created_at);`,
      ].join("\n");
      down = `DROP TABLE ${table};`;
    } else if (kind === 3) {
      slug = `index_${earlier}_name_${i}`;
      up = `CREATE INDEX ${earlier}_name_${i}_idx ON ${earlier} (lower(name));`;
      down = `DROP INDEX ${earlier}_name_${i}_idx;`;
    } else if (kind === 4) {
      slug = `add_note_${i}_to_${earlier}`;
      up = [
        `ALTER TABLE ${earlier} ADD COLUMN note_${i} text;`,
        `COMMENT ON COLUMN ${earlier}.note_${i} IS 'Added by migration ${i}.';`,
      ].join("\n");
      down = `ALTER TABLE ${earlier} DROP COLUMN note_${i};`;
    } else if (kind === 5) {
      slug = `create_function_${i}`;
      up = [
        `CREATE OR REPLACE FUNCTION item_name_${i}(p_id bigint) RETURNS text`,
        "LANGUAGE plpgsql STABLE AS $$",
        "BEGIN",
        `  RETURN (SELECT name FROM ${earlier} WHERE id = p_id);`,
        "END;",
        "$$;",
      ].join("\n");
      down = `DROP FUNCTION item_name_${i}(bigint);`;
    } else if (kind === 7) {
      slug = `seed_${earlier}_${i}`;
      up = [
        `INSERT INTO ${earlier} (name, amount)`,
        "SELECT 'row ' || g, g * 1.5 FROM generate_series(1, 20) AS g;",
      ].join("\n");
      down = `DELETE FROM ${earlier} WHERE name LIKE 'row %';`;
    } else if (kind === 8) {
      slug = `activate_${earlier}_${i}`;
      up = `UPDATE ${earlier} SET status = 'active' WHERE amount > 10;`;
      down = `UPDATE ${earlier} SET status = 'new' WHERE status = 'active';`;
    } else if (kind === 9) {
      slug = `create_view_${i}`;
      up = `CREATE VIEW active_${i} AS SELECT id, name, status FROM ${earlier} WHERE status = 'active';`;
      down = `DROP VIEW active_${i};`;
    } else {
      slug = `check_${earlier}_amount_${i}`;
      up = `ALTER TABLE ${earlier} ADD CONSTRAINT ${earlier}_amount_${i}_check CHECK (amount IS NULL OR amount >= 0);`;
      down = `ALTER TABLE ${earlier} DROP CONSTRAINT ${earlier}_amount_${i}_check;`;
    }
    migrations.push({ index: i, number: String(i).padStart(width, "0"), slug, up, down });
  }
  return { n, migrations, tables: tables.length };
}

function fresh(dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** dbmate's format, which this engine reads too: `NNNN_slug.sql` with up and down sections. */
export function writeDbmateFormat(dir: string, corpus: Corpus): string {
  fresh(dir);
  for (const m of corpus.migrations) {
    writeFileSync(
      join(dir, `${m.number}_${m.slug}.sql`),
      `-- migrate:up\n${m.up}\n\n-- migrate:down\n${m.down}\n`,
    );
  }
  return dir;
}

/**
 * The up SQL alone, one file each (`NNNN_slug.sql`): what the floor sends, what psql runs file by
 * file, and postgres-migrations' format (the number is its id; files have no down section).
 */
export function writeUpOnly(dir: string, corpus: Corpus): string {
  fresh(dir);
  for (const m of corpus.migrations)
    writeFileSync(join(dir, `${m.number}_${m.slug}.sql`), `${m.up}\n`);
  return dir;
}

/** node-pg-migrate's SQL migrations: `-- Up Migration` / `-- Down Migration`. */
export function writeNodePgMigrateFormat(dir: string, corpus: Corpus): string {
  fresh(dir);
  for (const m of corpus.migrations) {
    writeFileSync(
      join(dir, `${m.number}_${m.slug}.sql`),
      `-- Up Migration\n${m.up}\n\n-- Down Migration\n${m.down}\n`,
    );
  }
  return dir;
}

interface GraphileHash {
  calculateHash(body: string, previousHash: string | null): string;
}
interface GraphileMigration {
  serializeMigration(body: string, headers: Record<string, string | undefined>): string;
}

/**
 * graphile-migrate's committed migrations (`<dir>/migrations/committed/000001-slug.sql`), written
 * exactly as `graphile-migrate commit` writes them — its own `calculateHash` chains each file to
 * the previous one and its own `serializeMigration` writes the headers — without replaying each
 * one through `current.sql` and a shadow database, which is a development-time step. Returns the
 * migrations folder (the `migrationsFolder` setting).
 */
export function writeGraphileFormat(dir: string, corpus: Corpus): string {
  const require = createRequire(import.meta.url);
  const { calculateHash } = require("graphile-migrate/dist/hash.js") as GraphileHash;
  const { serializeMigration } = require("graphile-migrate/dist/migration.js") as GraphileMigration;
  fresh(dir);
  const folder = join(dir, "migrations");
  const committed = fresh(join(folder, "committed"));
  let previous: string | null = null;
  for (const m of corpus.migrations) {
    const body = `${m.up.trim()}\n`;
    const hash = calculateHash(body, previous);
    const text = serializeMigration(body, {
      Previous: previous ?? "-",
      Hash: hash,
      Message: m.slug,
    });
    const slug = m.slug.replaceAll("_", "-");
    writeFileSync(join(committed, `${String(m.index).padStart(6, "0")}-${slug}.sql`), text);
    previous = hash;
  }
  return folder;
}

/**
 * Kysely migrations: one ES module per migration (`NNNN_slug.mjs`, ordered by name) whose `up`
 * and `down` run the SQL with `sql.raw`. They import Kysely from the file this process resolves,
 * so that files in a temporary directory share this process's Kysely.
 */
export function writeKyselyFormat(dir: string, corpus: Corpus): string {
  fresh(dir);
  const kysely = pathToFileURL(createRequire(import.meta.url).resolve("kysely")).href;
  for (const m of corpus.migrations) {
    writeFileSync(
      join(dir, `${m.number}_${m.slug}.mjs`),
      [
        `import { sql } from ${JSON.stringify(kysely)};`,
        `export async function up(db) {\n  await sql.raw(${JSON.stringify(m.up)}).execute(db);\n}`,
        `export async function down(db) {\n  await sql.raw(${JSON.stringify(m.down)}).execute(db);\n}`,
        "",
      ].join("\n"),
    );
  }
  return dir;
}

/** `file://` URL of a path, for dynamic imports. */
export function fileUrl(path: string): string {
  return pathToFileURL(path).href;
}
