import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { distScript, timeProcess } from "../spawn.ts";
import type { Tool } from "./tool.ts";

/** The `.sql` files of a directory, in name order, as text. */
export function readSqlFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith(".sql"))
    .sort()
    .map((name) => readFileSync(join(dir, name), "utf8"));
}

/**
 * The floor: the same SQL sent by the least a script can do over one `pg` connection — read the
 * files, then `BEGIN`, the file's SQL, `COMMIT` for each (or one transaction around them all), no
 * bookkeeping at all. No engine of this shape can do less work.
 */
export async function applyFloor(url: string, dir: string, oneTransaction: boolean) {
  const scripts = readSqlFiles(dir);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    if (oneTransaction) await client.query("BEGIN");
    for (const sql of scripts) {
      if (!oneTransaction) await client.query("BEGIN");
      await client.query(sql);
      if (!oneTransaction) await client.query("COMMIT");
    }
    if (oneTransaction) await client.query("COMMIT");
  } finally {
    await client.end();
  }
}

/**
 * postgres-meta's floor: each file's SQL as one `POST /query` (postgres-meta runs a multi-statement
 * batch as one implicit transaction), no bookkeeping: what HTTP and postgres-meta cost by
 * themselves, before any engine.
 */
export async function applyPgMetaFloor(pgMetaUrl: string, dir: string) {
  const endpoint = new URL("query", pgMetaUrl.endsWith("/") ? pgMetaUrl : `${pgMetaUrl}/`);
  for (const sql of readSqlFiles(dir)) {
    const response = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: sql }),
    });
    const body = await response.text();
    if (!response.ok) throw new Error(`postgres-meta answered ${response.status}: ${body}`);
  }
}

/** PGlite's floor: each file's SQL through `exec`, in a PGlite transaction of its own. */
export async function applyPgliteFloor(pglite: PGlite, dir: string) {
  for (const sql of readSqlFiles(dir)) {
    await pglite.transaction(async (tx) => {
      await tx.exec(sql);
    });
  }
}

export const floorTools: Tool[] = [
  {
    id: "floor",
    tool: "floor",
    mode: "in-process",
    target: "pg",
    transactions: "per migration",
    floor: null,
    // Its no-op connects and sends nothing: what `pg` costs before any work.
    noop: true,
    run: (target, prepared, phase) =>
      applyFloor(target.url, phase === "noop" ? prepared.dirs.empty : prepared.dirs.upOnly, false),
  },
  {
    id: "floor-1tx",
    tool: "floor (one transaction)",
    mode: "in-process",
    target: "pg",
    transactions: "one for all",
    floor: null,
    noop: false,
    run: (target, prepared) => applyFloor(target.url, prepared.dirs.upOnly, true),
  },
  {
    id: "floor-process",
    tool: "floor",
    mode: "process",
    target: "pg",
    transactions: "per migration",
    floor: null,
    // Its no-op connects and sends nothing: what Node and `pg` cost before any work.
    noop: true,
    run: async (target, prepared, phase) => {
      const dir = phase === "noop" ? prepared.dirs.empty : prepared.dirs.upOnly;
      await timeProcess(process.execPath, [distScript("scripts/floor.js"), target.url, dir]);
    },
  },
  {
    id: "floor-process-1tx",
    tool: "floor (one transaction)",
    mode: "process",
    target: "pg",
    transactions: "one for all",
    floor: null,
    noop: false,
    run: async (target, prepared) => {
      await timeProcess(process.execPath, [
        distScript("scripts/floor.js"),
        target.url,
        prepared.dirs.upOnly,
        "--one-transaction",
      ]);
    },
  },
  {
    id: "pg-meta-floor",
    tool: "floor (postgres-meta)",
    mode: "in-process",
    target: "pg-meta",
    transactions: "per migration",
    floor: null,
    noop: false,
    run: async (target, prepared) => {
      if (!target.pgMetaUrl) throw new Error("no postgres-meta for its floor");
      await applyPgMetaFloor(target.pgMetaUrl, prepared.dirs.upOnly);
    },
  },
  {
    id: "pglite-floor",
    tool: "floor (PGlite)",
    mode: "in-process",
    target: "pglite",
    transactions: "per migration",
    floor: null,
    noop: false,
    run: async (target, prepared) => {
      if (!target.pglite) throw new Error("no PGlite for the PGlite floor");
      await applyPgliteFloor(target.pglite, prepared.dirs.upOnly);
    },
  },
];
