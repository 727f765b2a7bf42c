import { createMigrationEngine, memorySource } from "@studio/migrations-core";
import { MemoryExecutor } from "@studio/migrations-core/testing";

const engine = createMigrationEngine({
  executor: new MemoryExecutor(), // or a PostgreSQL, PGlite or postgres-meta executor
  source: memorySource([
    {
      name: "001_create_users",
      sql: "-- migrate:up\nCREATE TABLE users (id int);\n-- migrate:down\nDROP TABLE users;\n",
    },
  ]),
});

const first = await engine.apply({ actor: "readme" });
const again = await engine.apply({ migrationName: "001_create_users", actor: "readme" });
const status = await engine.list();

console.log(first.results.map((r) => `${r.migrationName}: ${r.status}`)); // [ '001_create_users: applied' ]
console.log(again.results.map((r) => r.status)); // [ 'already_applied' ]
console.log(status.applied[0]?.appliedBy, status.pending.length); // readme 0
