import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import path, { join } from "node:path";
import { resolveBinary } from "dbmate";
import { applyGraphile, writeGmrc } from "../peers/graphile-migrate.ts";
import { applyKysely } from "../peers/kysely.ts";
import { applyNodePgMigrate } from "../peers/node-pg-migrate.ts";
import { applyPostgresMigrations } from "../peers/postgres-migrations.ts";
import { withoutTls } from "../server.ts";
import { distScript, timeProcess } from "../spawn.ts";
import type { Tool, Transactions } from "./tool.ts";

const require = createRequire(import.meta.url);
const NODE_PG_MIGRATE_BIN = require.resolve("node-pg-migrate/bin/node-pg-migrate");
const GRAPHILE_MIGRATE_BIN = join(
  path.dirname(require.resolve("graphile-migrate/package.json")),
  "dist/cli.js",
);

function peerScript(args: string[]) {
  return timeProcess(process.execPath, [distScript("scripts/peer.js"), ...args]);
}

/** A library's in-process run and its whole-process counterpart. */
function both(
  base: Pick<Tool, "id" | "tool" | "target" | "transactions" | "noop">,
  oneTransaction: boolean,
  inProcess: Tool["run"],
  whole: Tool["run"],
): Tool[] {
  return [
    { ...base, mode: "in-process", floor: oneTransaction ? "floor-1tx" : "floor", run: inProcess },
    {
      ...base,
      id: `${base.id}-process`,
      mode: "process",
      floor: oneTransaction ? "floor-process-1tx" : "floor-process",
      run: whole,
    },
  ];
}

function tx(perMigration: boolean): Transactions {
  return perMigration ? "per migration" : "one for all";
}

function kysely(perMigration: boolean): Tool[] {
  const label = perMigration
    ? "Kysely Migrator (disableTransactions)"
    : "Kysely Migrator (default)";
  const flag = perMigration ? "per-migration" : "one-transaction";
  return both(
    {
      id: perMigration ? "kysely-per-migration" : "kysely-default",
      tool: label,
      target: "pg",
      transactions: tx(perMigration),
      noop: true,
    },
    !perMigration,
    (t, p) => applyKysely(t.url, p.kyselyDir(), perMigration),
    async (t, p) => {
      await peerScript(["kysely", t.url, p.kyselyDir(), flag]);
    },
  );
}

function nodePgMigrate(perMigration: boolean): Tool[] {
  const label = perMigration
    ? "node-pg-migrate (--no-single-transaction)"
    : "node-pg-migrate (default)";
  return both(
    {
      id: perMigration ? "node-pg-migrate-per-migration" : "node-pg-migrate-default",
      tool: label,
      target: "pg",
      transactions: tx(perMigration),
      noop: true,
    },
    !perMigration,
    (t, p) => applyNodePgMigrate(t.url, p.dirs.nodePgMigrate, perMigration),
    async (t, p) => {
      await timeProcess(
        process.execPath,
        [
          NODE_PG_MIGRATE_BIN,
          "up",
          "-m",
          p.dirs.nodePgMigrate,
          "--check-order",
          ...(perMigration ? ["--no-single-transaction"] : []),
        ],
        { env: { DATABASE_URL: t.url } },
      );
    },
  );
}

export const peerTools: Tool[] = [
  ...kysely(false),
  ...kysely(true),
  ...nodePgMigrate(false),
  ...nodePgMigrate(true),
  ...both(
    {
      id: "graphile-migrate",
      tool: "graphile-migrate",
      target: "pg",
      transactions: "per migration",
      noop: true,
    },
    false,
    (t, p) => applyGraphile(t.url, p.dirs.graphile),
    async (t, p) => {
      const cwd = writeGmrc(p.root, t.url, p.dirs.graphile);
      await timeProcess(process.execPath, [GRAPHILE_MIGRATE_BIN, "migrate"], { cwd });
    },
  ),
  ...both(
    {
      id: "postgres-migrations",
      tool: "postgres-migrations",
      target: "pg",
      transactions: "per migration",
      noop: true,
    },
    false,
    (t, p) => applyPostgresMigrations(t.url, p.dirs.upOnly),
    async (t, p) => {
      await peerScript(["postgres-migrations", t.url, p.dirs.upOnly]);
    },
  ),
  {
    id: "dbmate",
    tool: "dbmate",
    mode: "process",
    target: "pg",
    transactions: "per migration",
    floor: "floor-process",
    noop: true,
    run: async (t, p) => {
      await timeProcess(resolveBinary(), [
        "--url",
        withoutTls(t.url),
        "--migrations-dir",
        p.dirs.dbmate,
        "--no-dump-schema",
        "up",
      ]);
    },
  },
  {
    id: "psql",
    tool: "psql --single-transaction, per file",
    mode: "process",
    target: "pg",
    transactions: "per migration",
    floor: "floor-process",
    noop: false,
    run: async (t, p) => {
      const dir = p.dirs.upOnly;
      for (const name of readdirSync(dir).sort()) {
        if (!name.endsWith(".sql")) continue;
        await timeProcess("psql", [
          "-X",
          "-q",
          "-v",
          "ON_ERROR_STOP=1",
          "--single-transaction",
          "-d",
          t.url,
          "-f",
          join(dir, name),
        ]);
      }
    },
  },
];
