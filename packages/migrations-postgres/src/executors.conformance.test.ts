import { PGlite } from "@electric-sql/pglite";
import type { Executor } from "@studio/migrations-core";
import {
  createMemoryDatabase,
  describeExecutorConformance,
  MemoryExecutor,
} from "@studio/migrations-core/testing";
import { createTestDatabase, startPgMeta } from "@studio/test-postgres";
import pg from "pg";
import { createPGliteExecutor, createPgMetaExecutor, createPostgresExecutor } from "./index.ts";

// One suite, every executor: their semantics cannot drift apart.

const TABLE_EXISTS = `select exists (select 1 from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = 'public' and c.relname = $1) as exists`;

async function tableExists(url: string, name: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ exists: boolean }>(TABLE_EXISTS, [name])).rows[0]?.exists === true;
  } finally {
    await client.end();
  }
}

describeExecutorConformance("memory", async () => {
  const database = createMemoryDatabase();
  return {
    executor: new MemoryExecutor({ database }),
    connect: async () => new MemoryExecutor({ database, statementDelayMs: 1 }),
    tableExists: async (name) => database.tables.has(name),
    dispose: async () => {},
  };
});

describeExecutorConformance("postgres", async () => {
  const database = await createTestDatabase("conformance");
  const executors: Executor[] = [];
  const make = () => {
    const executor = createPostgresExecutor({ connection: database.url });
    executors.push(executor);
    return executor;
  };
  return {
    executor: make(),
    connect: async () => make(),
    tableExists: (name) => tableExists(database.url, name),
    dispose: async () => {
      await Promise.all(executors.map((e) => e.close()));
      await database.drop();
    },
  };
});

describeExecutorConformance("pglite", async () => {
  const pglite = await PGlite.create();
  return {
    executor: createPGliteExecutor({ pglite }),
    connect: async () => createPGliteExecutor({ pglite }),
    tableExists: async (name) =>
      (await pglite.query<{ exists: boolean }>(TABLE_EXISTS, [name])).rows[0]?.exists === true,
    dispose: () => pglite.close(),
  };
});

describeExecutorConformance("pg-meta", async () => {
  const database = await createTestDatabase("conformance_pgmeta");
  const server = await startPgMeta(database.url);
  return {
    executor: createPgMetaExecutor({ url: server.url }),
    connect: async () => createPgMetaExecutor({ url: server.url }),
    tableExists: (name) => tableExists(database.url, name),
    dispose: async () => {
      await server.stop();
      await database.drop();
    },
  };
});
