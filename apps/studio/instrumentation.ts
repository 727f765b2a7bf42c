/**
 * Runs once when the Studio server starts, before it answers requests (Next awaits it): says where
 * the database is, prints a generated secret once, and applies pending migrations when
 * `MIGRATIONS_AUTO_APPLY` is on.
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { startStudio } = await import("./server/startup.ts");
  try {
    await startStudio();
  } catch (error) {
    // A configuration Studio cannot run with (no secret in production): stop here, with the
    // reason, rather than answer every request with a 500.
    console.error(
      `[studio] cannot start: ${error instanceof Error ? error.message : String(error)}`,
    );
    process.exit(1);
  }
}
