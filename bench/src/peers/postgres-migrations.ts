import pg from "pg";
import { migrate } from "postgres-migrations";

/** postgres-migrations' `migrate` over one `pg` client (a transaction each). */
export async function applyPostgresMigrations(url: string, dir: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await migrate({ client }, dir, { logger: () => {} });
  } finally {
    await client.end();
  }
}
