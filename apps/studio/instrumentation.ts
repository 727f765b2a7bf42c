/**
 * Runs once when the Studio server starts, before it answers requests (Next awaits it): says where
 * the database is, prints a generated secret once, and applies pending migrations when
 * `MIGRATIONS_AUTO_APPLY` is on.
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { startStudio } = await import("./server/startup.ts");
  await startStudio();
}
