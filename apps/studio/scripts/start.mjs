// `npm start`: builds Studio and serves it on HOST:PORT (default 127.0.0.1:3000), on the embedded
// database unless DATABASE_URL or PG_META_URL says otherwise. MIGRATION_SECRET is Studio's own
// business (SPEC §6): it refuses to start without one against a real database in production, and
// on the embedded database makes one, prints it once and keeps it in the data directory. Nothing
// here may make one up, or Studio's check would never see the secret missing.
import { spawn, spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const appDir = fileURLToPath(new URL("..", import.meta.url));
const nextBin = createRequire(import.meta.url).resolve("next/dist/bin/next");
const host = process.env.HOST ?? "127.0.0.1";
const port = process.env.PORT ?? "3000";
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: "1" };

if (process.env.STUDIO_SKIP_BUILD !== "1") {
  console.log("[studio] building…");
  const build = spawnSync(process.execPath, [nextBin, "build"], {
    cwd: appDir,
    env,
    stdio: ["ignore", "inherit", "inherit"],
  });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const server = spawn(process.execPath, [nextBin, "start", "-H", host, "-p", port], {
  cwd: appDir,
  env,
  stdio: "inherit",
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.kill(signal));
server.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
for (let i = 0; i < 600; i++) {
  try {
    const response = await fetch(`${url}/api/health`);
    if (response.ok) break;
  } catch {}
  await new Promise((r) => setTimeout(r, 100));
}
console.log(`\n  Studio is running at ${url}/migrations`);
console.log(
  env.MIGRATION_SECRET
    ? "  Sign in with your MIGRATION_SECRET.\n"
    : "  Sign in with the MIGRATION_SECRET Studio generated: printed above on its first start, and\n  kept in its data directory (the [studio] line above says where).\n",
);
