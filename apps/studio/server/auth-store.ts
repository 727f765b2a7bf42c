import { StudioAuthStore, transportOf } from "@studio/migrations-postgres";
import { studioMigrations } from "./migrations.ts";

// Next can load server modules in several bundles of one process; they share `globalThis`.
const store = globalThis as typeof globalThis & { __studioAuthStore?: Promise<StudioAuthStore> };

/**
 * Sessions and the wrong-secret tally, in the database Studio serves — the one all its replicas
 * share — reached over the migrations executor's own transport (one pool, or the one embedded
 * database this process holds).
 */
export function studioAuthStore(): Promise<StudioAuthStore> {
  store.__studioAuthStore ??= studioMigrations()
    .then(({ executor }) => {
      const transport = transportOf(executor);
      if (!transport) throw new Error(`the ${executor.kind} executor exposes no transport`);
      return new StudioAuthStore({ transport });
    })
    .catch((error: unknown) => {
      store.__studioAuthStore = undefined;
      throw error;
    });
  return store.__studioAuthStore;
}
